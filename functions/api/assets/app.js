// mixscribe web page: sign in, upload through a signed resumable URL, watch jobs, read results.
// Plain JS, no build, no third-party code (the page's CSP allows only this origin's scripts).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("mixscribe.token") || "", selected: null, poll: null, follow: null };
const LIST_REFRESH_MS = 30000;  // the open job follows its event stream; the list also refreshes on its changes

function fmtSeconds(s) {
  if (s === null || s === undefined) return "—";
  const m = Math.floor(s / 60);
  const sec = (s - m * 60).toFixed(1).padStart(4, "0");
  return `${m}:${sec}`;
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    signOut("Your sign-in expired or was refused; sign in again.");
    throw new Error("unauthenticated");
  }
  return response;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return `${body.error.code}: ${body.error.message}`;
  } catch (e) {
    return `HTTP ${response.status}`;
  }
}

// --- sign in ---------------------------------------------------------------------------
function signIn(token, who) {
  state.token = token.trim();
  sessionStorage.setItem("mixscribe.token", state.token);
  $("who").textContent = who || "signed in";
  $("signin").hidden = true;
  $("app").hidden = false;
  refreshJobs();
  refreshKeys();
  state.poll = setInterval(refreshJobs, LIST_REFRESH_MS);
}

function signOut(message) {
  state.token = "";
  sessionStorage.removeItem("mixscribe.token");
  clearInterval(state.poll);
  if (state.follow) state.follow.abort();
  $("signin").hidden = false;
  $("app").hidden = true;
  $("who").textContent = "signed out";
  $("signin-error").textContent = message || "";
}

async function setUpSignIn() {
  const config = await (await fetch("/config.json")).json();
  if (config.dev_token_url) {
    $("dev").hidden = false;
    $("dev-signin").addEventListener("click", async () => {
      const user = $("dev-user").value.trim();
      const response = await fetch(config.dev_token_url, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ sub: user }),
      });
      if (!response.ok) { $("signin-error").textContent = "The local identity provider refused that name."; return; }
      signIn((await response.json()).id_token, `${user} (local)`);
    });
  }
  $("use-token").addEventListener("click", () => signIn($("token").value, "signed in"));
  $("signout").addEventListener("click", () => signOut(""));
  if (state.token) signIn(state.token, "signed in");
}

// --- upload ----------------------------------------------------------------------------
function putWithProgress(url, file) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) $("progress").value = (100 * e.loaded) / e.total; };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`upload failed: HTTP ${xhr.status}`)));
    xhr.onerror = () => reject(new Error("upload failed: network error"));
    xhr.send(file);
  });
}

async function upload(file) {
  const status = $("upload-status");
  $("progress").hidden = false;
  $("progress").value = 0;
  status.textContent = `Preparing ${file.name}…`;
  try {
    const contentType = file.type || "application/octet-stream";
    const body = {
      filename: file.name, content_type: contentType, size: file.size,
      options: { notes: $("opt-notes").checked, priority: $("opt-priority").value },
    };
    if ($("opt-redact").checked) Object.assign(body.options, { redact: "pii", redact_audio: true });
    if ($("opt-diarize").checked) {
      body.options.diarize = true;
      if ($("opt-speakers").value) body.options.speakers = Number($("opt-speakers").value);
    }
    const response = await api("/v1/uploads", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const signed = await response.json();
    const start = await fetch(signed.upload.url, { method: signed.upload.method, headers: signed.upload.headers });
    if (start.status !== 201 && start.status !== 200) throw new Error(`could not start the upload: HTTP ${start.status}`);
    status.textContent = `Uploading ${file.name}…`;
    await putWithProgress(start.headers.get("Location"), file);
    status.textContent = `Uploaded ${file.name}: job ${signed.job_id}`;
    openJob(signed.job_id, file.name);
  } catch (e) {
    status.textContent = e.message;
    status.className = "error";
  }
}

function setUpUpload() {
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]); });
  $("file").addEventListener("change", (e) => { if (e.target.files.length) upload(e.target.files[0]); });
}

// --- jobs ------------------------------------------------------------------------------
async function refreshJobs() {
  if (!state.token) return;
  let response;
  try { response = await api("/v1/jobs?limit=50"); } catch (e) { return; }
  if (!response.ok) return;
  const page = await response.json();
  const body = $("jobs").querySelector("tbody");
  body.replaceChildren();
  $("jobs-empty").hidden = page.jobs.length > 0;
  for (const job of page.jobs) {
    const row = document.createElement("tr");
    row.dataset.jobId = job.id;
    row.className = job.id === state.selected ? "selected" : "";
    const cells = [job.source.name, job.status, fmtSeconds(job.duration_s), job.language || "—",
      new Date(job.created_at).toLocaleTimeString()];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 1) td.className = `status status-${job.status}`;
      row.appendChild(td);
    });
    row.addEventListener("click", () => openJob(job.id, job.source.name));
    body.appendChild(row);
  }
}

async function showStatus(job) {
  const error = job.error ? ` — ${job.error.code}: ${job.error.message}` : "";
  $("detail-title").textContent = job.source.name;
  $("detail-status").textContent = `status: ${job.status}${error}`;
  if (job.progress) showProgress(job.progress);
  if ($("player").dataset.jobId !== job.id) {
    $("player").dataset.jobId = job.id;
    const audio = await api(`/v1/jobs/${job.id}/audio`);
    if (audio.ok) $("player").src = (await audio.json()).url;
  }
  if (job.outputs.includes("json") && !$("transcript").dataset.loaded) loadResults(job);
}

function openJob(id, name) {
  state.selected = id;
  $("detail").hidden = false;
  $("detail-title").textContent = name || id;
  $("detail-status").textContent = "status: waiting for the job…";
  $("transcript").replaceChildren();
  delete $("transcript").dataset.loaded;
  delete $("player").dataset.jobId;
  $("player").removeAttribute("src");
  $("job-progress").hidden = true;
  $("job-eta").textContent = "";
  $("notes").textContent = "—";
  followJob(id);
  refreshJobs();
}

// --- following the open job: GET /v1/jobs/{id}/events, Server-Sent Events read with fetch ----------------
// (the browser's EventSource cannot send the Authorization header)
function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: JSON.parse(data.join("\n")) } : null;
}

async function followJob(id) {
  if (state.follow) state.follow.abort();
  const controller = new AbortController();
  state.follow = controller;
  while (!controller.signal.aborted && state.token) {
    try {
      const response = await api(`/v1/jobs/${id}/events`, { signal: controller.signal });
      if (!response.ok) { $("detail-status").textContent = await errorText(response); return; }
      $("transcript").querySelectorAll("li.live").forEach((li) => li.remove());  // the stream resends them
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
          const event = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (event && onJobEvent(id, event)) { controller.abort(); return; }
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));  // closed early: reconnect, the state comes again
  }
}

// true when the stream is over for the page (the job ended, or another job is open)
function onJobEvent(id, { event, data }) {
  if (id !== state.selected) return true;
  if (event === "status" || event === "end") {
    showStatus(data);
    refreshJobs();
  } else if (event === "progress") {
    showProgress(data);
  } else if (event === "segment" && !$("transcript").dataset.loaded) {
    addSegment(data, true);
  }
  return event === "end";
}

function showProgress(progress) {
  const bar = $("job-progress");
  bar.hidden = false;
  bar.value = progress.percent || 0;
  const left = progress.percent >= 100 ? "transcribed"
    : progress.eta_s === null ? "measuring the speed…" : `about ${fmtSeconds(progress.eta_s)} left`;
  const speed = progress.speed_x ? `, ${progress.speed_x.toFixed(1)}× real time` : "";
  $("job-eta").textContent = `${fmtSeconds(progress.done_s)} of ${fmtSeconds(progress.total_s)}`
    + ` (${Math.round(progress.percent || 0)} %): ${left}${speed}`;
}

async function loadResults(job) {
  const list = $("transcript");
  list.dataset.loaded = "1";
  const response = await api(`/v1/jobs/${job.id}/transcript?format=json`);
  if (!response.ok) { delete list.dataset.loaded; return; }
  const transcript = await response.json();
  list.replaceChildren();
  showSpeakers(job.id, transcript.speakers || []);
  for (const segment of transcript.segments) addSegment(segment, false);
  if (job.outputs.includes("notes_md")) {
    const notes = await api(`/v1/jobs/${job.id}/notes?format=md`);
    if (notes.ok) $("notes").textContent = await notes.text();
  } else {
    $("notes").textContent = job.status === "done" ? "No notes for this job." : "Notes are on their way…";
    if (job.status !== "done") delete list.dataset.loaded;
  }
}

// a transcript line; live ones (found so far, before the final transcript) go in time order, marked as such
function addSegment(segment, live) {
  const item = document.createElement("li");
  item.dataset.start = segment.start;
  if (live) { item.className = "live"; item.title = "as heard so far; the final transcript replaces it"; }
  const seek = document.createElement("button");
  seek.type = "button";
  seek.className = "ts";
  seek.textContent = fmtSeconds(segment.start);
  seek.title = "play from here";
  seek.addEventListener("click", () => { $("player").currentTime = segment.start; $("player").play().catch(() => {}); });
  item.appendChild(seek);
  if (segment.speaker) {
    const who = document.createElement("span");
    who.className = "speaker";
    who.textContent = `${segment.speaker}:`;
    item.appendChild(who);
  }
  item.appendChild(document.createTextNode(segment.text.trim()));
  const list = $("transcript");
  const later = live ? [...list.children].find((li) => Number(li.dataset.start) > segment.start) : null;
  list.insertBefore(item, later || null);
}

// --- speakers: the diarized labels, renamed by id (PATCH /v1/jobs/{id}/speakers) ----------------
function showSpeakers(jobId, speakers) {
  const form = $("speakers");
  const key = JSON.stringify([jobId, speakers.map((s) => [s.id, s.label])]);
  if (form.dataset.key === key) return;  // the transcript is polled while notes are on their way: keep edits
  form.dataset.key = key;
  form.hidden = speakers.length === 0;
  $("speakers-status").textContent = "";
  const names = $("speaker-names");
  names.replaceChildren();
  for (const speaker of speakers) {
    const label = document.createElement("label");
    label.className = "row";
    const input = document.createElement("input");
    input.value = speaker.label;
    input.maxLength = 64;
    input.required = true;
    input.dataset.speakerId = speaker.id;
    const share = Math.round(100 * speaker.share);
    label.append(input, document.createTextNode(` ${fmtSeconds(speaker.talk_time_s)} talk time, ${share} %`));
    names.appendChild(label);
  }
}

async function renameSpeakers(event) {
  event.preventDefault();
  const names = {};
  $("speaker-names").querySelectorAll("input").forEach((input) => { names[input.dataset.speakerId] = input.value.trim(); });
  const response = await api(`/v1/jobs/${state.selected}/speakers`, {
    method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify(names),
  });
  if (!response.ok) { $("speakers-status").textContent = await errorText(response); return; }
  const job = await (await api(`/v1/jobs/${state.selected}`)).json();
  delete $("transcript").dataset.loaded;
  await loadResults(job);
  $("speakers-status").textContent = "Renamed in the transcript, its downloads and the notes.";
}

async function download(format) {
  const id = state.selected;
  const response = await api(`/v1/jobs/${id}/transcript?format=${format}&download=true`);
  if (!response.ok) { $("detail-status").textContent = await errorText(response); return; }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = `${id}.${format}`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// --- API keys (/v1/keys: managed when signed in with an ID token) --------------------------------------
async function refreshKeys() {
  let response;
  try { response = await api("/v1/keys"); } catch (e) { return; }
  if (!response.ok) { $("keys-status").textContent = await errorText(response); return; }
  const body = $("keys").querySelector("tbody");
  body.replaceChildren();
  const { keys } = await response.json();
  $("keys-empty").hidden = keys.length > 0;
  for (const key of keys) {
    const row = document.createElement("tr");
    row.dataset.keyId = key.id;
    const when = (t) => (t ? new Date(t).toLocaleString() : "never");
    for (const text of [key.name, `${key.prefix}…`, when(key.created_at), when(key.last_used_at)]) {
      const td = document.createElement("td");
      td.textContent = text;
      row.appendChild(td);
    }
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "small danger";
    revoke.textContent = "revoke";
    revoke.addEventListener("click", async (event) => {
      event.stopPropagation();
      if (!confirm(`Revoke the key "${key.name}"? Programs using it stop working at once.`)) return;
      const answer = await api(`/v1/keys/${key.id}`, { method: "DELETE" });
      $("keys-status").textContent = answer.status === 204 ? `Revoked "${key.name}".` : await errorText(answer);
      refreshKeys();
    });
    const cell = document.createElement("td");
    cell.appendChild(revoke);
    row.appendChild(cell);
    body.appendChild(row);
  }
}

async function createKey(event) {
  event.preventDefault();
  const response = await api("/v1/keys", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: $("key-name").value.trim() }),
  });
  if (!response.ok) { $("keys-status").textContent = await errorText(response); return; }
  const created = await response.json();
  $("key-secret").textContent = created.key;
  $("key-new").hidden = false;
  $("key-name").value = "";
  $("keys-status").textContent = "";
  refreshKeys();
}

function setUpDetail() {
  $("downloads").querySelectorAll("button[data-format]").forEach((b) => b.addEventListener("click", () => download(b.dataset.format)));
  $("delete").addEventListener("click", async () => {
    if (!confirm("Delete this job, its upload and its results?")) return;
    const response = await api(`/v1/jobs/${state.selected}`, { method: "DELETE" });
    if (response.status === 204) { $("detail").hidden = true; state.selected = null; refreshJobs(); }
  });
  $("refresh").addEventListener("click", refreshJobs);
  $("speakers").addEventListener("submit", renameSpeakers);
  $("key-form").addEventListener("submit", createKey);
}

setUpUpload();
setUpDetail();
setUpSignIn();
