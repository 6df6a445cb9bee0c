"""Policies the Pulumi program must hold, checked on the resource graph built under mocks."""

from __future__ import annotations

import json
import re

from mixscribe_infra.identity import ACCOUNTS, ROLE_RATIONALE
from mixscribe_infra.jobs import GPU_TASK_TIMEOUT_CAP_S

from mixscribe.topology import ANALYTICS_SUBSCRIPTION
from mixscribe.warehouse import DATASET, TABLES, VIEWS, VIEWS_DIR
from tests.conftest import REPO
from tests.infra.conftest import build_under_mocks, of_type

PUBLIC = {"allUsers", "allAuthenticatedUsers"}
IAM_TYPES = ("IAMMember", "IamMember")


def iam_grants(resources):
    return [r for r in resources if r.type.endswith(IAM_TYPES)]


def account_of(member: str) -> str | None:
    """``serviceAccount:mixscribe-notes@…`` → ``notes``; ``allUsers`` → ``public``; ``None`` for Google's agents."""
    if member in PUBLIC:
        return "public"
    email = member.split(":", 1)[1]
    local = email.split("@")[0]
    return local.removeprefix("mixscribe-") if local.startswith("mixscribe-") else None


def test_every_bucket_is_private_with_uniform_access(infra):
    buckets = of_type(infra, "storage/bucket:Bucket")
    assert {b.inputs["name"] for b in buckets} == {"t-uploads", "t-results", "t-sources", "mixscribe-test-mixscribe-dataflow"}
    for bucket in buckets:
        assert bucket.inputs["uniformBucketLevelAccess"] is True
        assert bucket.inputs["publicAccessPrevention"] == "enforced"


def test_bucket_lifecycles_versioning_and_cors(infra):
    by_name = {b.inputs["name"]: b.inputs for b in of_type(infra, "storage/bucket:Bucket")}
    uploads, results = by_name["t-uploads"], by_name["t-results"]
    assert uploads["lifecycleRules"] == [{"action": {"type": "Delete"}, "condition": {"age": 14.0}}]
    assert uploads["cors"][0]["origins"] == ["https://app.example"]
    assert "cors" not in results and "cors" not in by_name["t-sources"]
    assert results["versioning"] == {"enabled": True}
    tiers = [(r["action"]["storageClass"], r["condition"]["age"]) for r in results["lifecycleRules"]]
    assert tiers == [("NEARLINE", 30.0), ("COLDLINE", 90.0)]


def test_only_the_api_is_invocable_from_outside(infra):
    functions = {f.inputs["name"]: f.inputs for f in of_type(infra, "cloudfunctionsv2/function:Function")}
    assert set(functions) == {"on-upload", "notes", "webhooks", "dead-letters", "api"}
    for name, function in functions.items():
        ingress = function["serviceConfig"]["ingressSettings"]
        assert ingress == ("ALLOW_ALL" if name == "api" else "ALLOW_INTERNAL_ONLY"), name
        assert "eventTrigger" not in function, name  # fed by the topology's push subscriptions, not Eventarc
    invokers = [g for g in iam_grants(infra) if g.inputs["role"] in ("roles/run.invoker", "roles/cloudfunctions.invoker")]
    public = [g for g in iam_grants(infra) if g.inputs["member"] in PUBLIC]
    assert [g.name for g in public] == ["functions-api-public"]  # the one public grant: the API's invoker
    private = [g for g in invokers if g not in public]
    assert {account_of(g.inputs["member"]) for g in private} == {"trigger"}
    assert len(private) == 4


def test_a_private_api_stack_has_no_public_grant():
    resources = build_under_mocks(api_public=False)
    assert not [g for g in iam_grants(resources) if g.inputs["member"] in PUBLIC]


def test_the_api_verifies_tokens_of_the_configured_provider(infra):
    api = next(f for f in of_type(infra, "cloudfunctionsv2/function:Function") if f.inputs["name"] == "api")
    env = api.inputs["serviceConfig"]["environmentVariables"]
    assert env["MIXSCRIBE_AUTH_AUDIENCE"] == "mixscribe-test"
    assert env["MIXSCRIBE_AUTH_ISSUERS"] == "https://securetoken.google.com/mixscribe-test"
    assert env["MIXSCRIBE_WEB_ORIGIN"] == "https://app.example"
    on_accounts = {
        (g.inputs["serviceAccountId"], g.inputs["role"], g.inputs["member"])
        for g in of_type(infra, "serviceaccount/iAMMember:IAMMember")
    }
    agent = "serviceAccount:service-123456789@gcp-sa-pubsub.iam.gserviceaccount.com"
    assert on_accounts == {  # the API signs as itself; Pub/Sub mints push tokens as the trigger account; nothing else
        (
            "projects/mixscribe-test/serviceAccounts/mixscribe-api@mixscribe-test.iam.gserviceaccount.com",
            "roles/iam.serviceAccountTokenCreator",
            "serviceAccount:mixscribe-api@mixscribe-test.iam.gserviceaccount.com",
        ),
        (
            "projects/mixscribe-test/serviceAccounts/mixscribe-trigger@mixscribe-test.iam.gserviceaccount.com",
            "roles/iam.serviceAccountTokenCreator",
            agent,
        ),
    }


def test_one_service_account_per_component_and_no_broad_roles(infra):
    accounts = of_type(infra, "serviceaccount/account:Account")
    assert sorted(a.inputs["accountId"] for a in accounts) == sorted(f"mixscribe-{k}" for k in ACCOUNTS)
    functions = {
        f.inputs["name"]: f.inputs["serviceConfig"]["serviceAccountEmail"]
        for f in of_type(infra, "cloudfunctionsv2/function:Function")
    }
    for function, email in functions.items():  # dead-letters-requests and -notes share one account
        assert function.startswith(email.split("@")[0].removeprefix("mixscribe-")), function
    for job in of_type(infra, "cloudrunv2/job:Job"):
        assert job.inputs["template"]["template"]["serviceAccount"].startswith("mixscribe-transcribe@")
    for grant in iam_grants(infra):
        role = grant.inputs["role"]
        assert role not in ("roles/editor", "roles/owner") and not role.endswith(".admin")
        account = account_of(grant.inputs["member"])
        if account is not None:
            recorded = re.sub(r"^projects/[^/]+/roles/", "projects/{project}/roles/", role)
            assert (account, recorded) in ROLE_RATIONALE, f"{account} has {role} without a recorded reason"
    project_roles = {g.inputs["role"] for g in of_type(infra, "projects/iAMMember:IAMMember")}
    assert project_roles <= {
        "roles/datastore.user",
        "roles/dataflow.worker",
        "roles/cloudtrace.agent",
        "roles/monitoring.metricWriter",
    }
    assert "roles/dlp.user" not in project_roles  # only a stack that redacts with Cloud DLP


def test_a_stack_that_redacts_with_cloud_dlp_lets_only_the_job_use_it():
    resources = build_under_mocks(redaction_engine="dlp")
    grants = [g for g in of_type(resources, "projects/iAMMember:IAMMember") if g.inputs["role"] == "roles/dlp.user"]
    assert [account_of(g.inputs["member"]) for g in grants] == ["transcribe"]
    for job in of_type(resources, "cloudrunv2/job:Job"):
        env = {e["name"]: e.get("value") for e in job.inputs["template"]["template"]["containers"][0]["envs"]}
        assert env["MIXSCRIBE_REDACTION_ENGINE"] == "dlp"


def test_gpu_job_asks_for_an_l4_within_the_timeout_cap(infra):
    jobs = {j.inputs["name"]: j.inputs["template"] for j in of_type(infra, "cloudrunv2/job:Job")}
    gpu = jobs["transcribe-gpu"]["template"]
    limits = gpu["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1" and gpu["nodeSelector"] == {"accelerator": "nvidia-l4"}
    assert int(limits["cpu"]) >= 4 and int(limits["memory"].removesuffix("Gi")) >= 16
    assert int(gpu["timeout"].removesuffix("s")) <= GPU_TASK_TIMEOUT_CAP_S and gpu["maxRetries"] >= 1
    cpu = jobs["transcribe-cpu"]["template"]
    assert "nvidia.com/gpu" not in cpu["containers"][0]["resources"]["limits"] and "nodeSelector" not in cpu
    function_env = of_type(infra, "cloudfunctionsv2/function:Function")[0].inputs["serviceConfig"]["environmentVariables"]
    assert function_env["MIXSCRIBE_LAUNCHER"] == "cloudrun"
    # high and normal priority to the GPU job, batch to the CPU job; each job's tasks learn theirs from CLOUD_RUN_JOB
    assert (function_env["MIXSCRIBE_GPU_JOB"], function_env["MIXSCRIBE_CPU_JOB"]) == ("transcribe-gpu", "transcribe-cpu")
    assert float(function_env["MIXSCRIBE_TASK_SPEED_X"]) > float(function_env["MIXSCRIBE_CPU_TASK_SPEED_X"])


def test_cpu_only_stack_dispatches_every_priority_to_the_cpu_job():
    resources = build_under_mocks(gpu=False)
    assert [j.inputs["name"] for j in of_type(resources, "cloudrunv2/job:Job")] == ["transcribe-cpu"]
    env = of_type(resources, "cloudfunctionsv2/function:Function")[0].inputs["serviceConfig"]["environmentVariables"]
    assert (env["MIXSCRIBE_GPU_JOB"], env["MIXSCRIBE_CPU_JOB"]) == ("transcribe-cpu", "transcribe-cpu")


def test_firestore_ttl_and_indexes(infra):
    (database,) = of_type(infra, "firestore/database:Database")
    assert database.inputs["type"] == "FIRESTORE_NATIVE"
    ttls = {
        (t.inputs["collection"], t.inputs["field"]) for t in of_type(infra, "firestore/field:Field") if "ttlConfig" in t.inputs
    }
    assert ttls == {("jobs", "expires_at"), ("ratelimits", "expires_at"), ("deletions", "expires_at"), ("promised", "expires_at")}
    indexes = [[(f["fieldPath"], f["order"]) for f in i.inputs["fields"]] for i in of_type(infra, "firestore/index:Index")]
    # the API's list query: owner (and status), newest first, job id as the tie-breaker of the cursor
    assert [("owner", "ASCENDING"), ("created_at", "DESCENDING"), ("job_id", "DESCENDING")] in indexes
    assert [("owner", "ASCENDING"), ("status", "ASCENDING"), ("created_at", "DESCENDING"), ("job_id", "DESCENDING")] in indexes


def test_bigquery_tables_equal_the_pipeline_schemas(infra):
    tables = {t.inputs["tableId"]: t.inputs for t in of_type(infra, "bigquery/table:Table") if "view" not in t.inputs}
    assert set(tables) == {t.name for t in TABLES}
    for table in TABLES:
        deployed = tables[table.name]
        assert json.loads(deployed["schema"]) == table.bigquery_schema()
        assert deployed["timePartitioning"] == {"type": "DAY", "field": table.partition_field}
        assert deployed["clusterings"] == list(table.clustering)


def test_every_table_and_view_a_query_names_exists_in_the_program(infra):
    """The example queries, the report's and the views' own SQL name ``mixscribe.<name>``: each is a table or
    a view the program creates, and each view is created from its file (BigQuery SQL, not legacy)."""
    created = {t.inputs["tableId"]: t.inputs for t in of_type(infra, "bigquery/table:Table")}
    views = {name: inputs["view"] for name, inputs in created.items() if "view" in inputs}
    assert views == {v.name: {"query": v.sql, "useLegacySql": False} for v in VIEWS}
    sql_files = [*(REPO / "beam_pipelines" / "analytics" / "queries").glob("*.sql"), *VIEWS_DIR.glob("*.sql")]
    assert len(sql_files) >= 10
    for path in sql_files:
        sql = re.sub(r"--[^\n]*", "", path.read_text())  # comments name modules, not tables
        named = set(re.findall(rf"\b{DATASET}\.(\w+)", sql))
        assert named and named <= set(created), f"{path.name} names {named - set(created)}"
    queries = (REPO / "beam_pipelines" / "analytics" / "queries").glob("*.sql")
    assert all(f"{DATASET}.jobs " not in q.read_text() for q in queries)  # queries read the current-row views


def test_the_dataflow_job_has_a_subscription_it_supports_a_staging_bucket_and_exactly_its_grants(infra):
    analytics = next(s for s in of_type(infra, "pubsub/subscription:Subscription") if s.inputs["name"] == ANALYTICS_SUBSCRIPTION)
    assert not analytics.inputs.get("deadLetterPolicy") and not analytics.inputs.get("retryPolicy")
    assert not analytics.inputs.get("pushConfig")
    staging = next(b for b in of_type(infra, "storage/bucket:Bucket") if b.inputs["name"].endswith("-mixscribe-dataflow"))
    assert staging.inputs["publicAccessPrevention"] == "enforced" and staging.inputs["uniformBucketLevelAccess"]
    grants = sorted(
        (g.type.split(":")[-1], g.inputs["role"]) for g in iam_grants(infra) if account_of(g.inputs["member"]) == "dataflow"
    )
    assert grants == [
        ("BucketIAMMember", "roles/storage.objectAdmin"),  # the staging bucket
        ("BucketIAMMember", "roles/storage.objectViewer"),  # the results bucket (backfill)
        ("DatasetIamMember", "roles/bigquery.dataEditor"),
        ("IAMMember", "roles/dataflow.worker"),
        ("RepositoryIamMember", "roles/artifactregistry.reader"),
        ("SubscriptionIAMMember", "roles/pubsub.subscriber"),
        ("SubscriptionIAMMember", "roles/pubsub.viewer"),
    ]


def test_secrets_come_from_secret_manager(infra):
    secrets = {s.inputs["secretId"] for s in of_type(infra, "secretmanager/secret:Secret")}
    assert secrets == {"llm-api-key", "webhook-signing-key"}
    functions = {f.inputs["name"]: f.inputs["serviceConfig"] for f in of_type(infra, "cloudfunctionsv2/function:Function")}
    assert functions["notes"]["secretVolumes"][0]["secret"] == "llm-api-key"
    assert functions["notes"]["environmentVariables"]["MIXSCRIBE_LLM_API_KEY_FILE"] == "/secrets/llm/llm-api-key"
    assert functions["webhooks"]["secretVolumes"][0]["secret"] == "webhook-signing-key"
    assert (
        functions["webhooks"]["environmentVariables"]["MIXSCRIBE_WEBHOOK_SECRET_FILE"] == "/secrets/webhook/webhook-signing-key"
    )
    assert not functions["api"].get("secretVolumes") and not functions["on-upload"].get("secretVolumes")
    for resource in of_type(infra, "cloudfunctionsv2/function:Function") + of_type(infra, "cloudrunv2/job:Job"):
        text = json.dumps(resource.inputs)
        assert 'MIXSCRIBE_LLM_API_KEY"' not in text and "sk-" not in text


def test_slos_with_burn_rate_alerts_and_pages_for_dead_letters(infra):
    slos = {s.inputs["sloId"]: s.inputs for s in of_type(infra, "monitoring/slo:Slo")}
    assert set(slos) == {"api-availability", "api-latency", "time-to-transcript"}
    assert slos["api-availability"]["goal"] == 0.995 and slos["api-latency"]["goal"] == 0.95
    cut = slos["time-to-transcript"]["requestBasedSli"]["distributionCut"]
    assert "mixscribe.transcript.latency_per_audio_minute" in cut["distributionFilter"] and cut["range"]["max"] == 30.0
    policies = {p.name: p.inputs for p in of_type(infra, "monitoring/alertPolicy:AlertPolicy")}
    for slo_id in slos:
        for alert, rate in (("fast-burn", 14.4), ("slow-burn", 6.0)):
            policy = policies[f"observability-{slo_id}-{alert}"]
            assert policy["combiner"] == "AND" and len(policy["conditions"]) == 2  # long and short window
            for condition in policy["conditions"]:
                threshold = condition["conditionThreshold"]
                assert threshold["filter"].startswith("select_slo_burn_rate(") and threshold["thresholdValue"] == rate
    dead = policies["observability-dead-letters"]["conditions"][0]["conditionMatchedLog"]
    assert dead["filter"] == 'severity="CRITICAL" AND jsonPayload.alert=true'
    assert "oldest_unacked_message_age" in policies["observability-queue-age"]["conditions"][0]["conditionThreshold"]["filter"]


def test_every_component_exports_telemetry(infra):
    functions = {f.inputs["name"]: f.inputs for f in of_type(infra, "cloudfunctionsv2/function:Function")}
    for function in functions.values():
        env = function["serviceConfig"]["environmentVariables"]
        assert env["MIXSCRIBE_TRACE_EXPORTER"] == "gcp" and env["MIXSCRIBE_METRICS_EXPORTER"] == "gcp"
    granted = {(account_of(g.inputs["member"]), g.inputs["role"]) for g in of_type(infra, "projects/iAMMember:IAMMember")}
    for account in ("on-upload", "transcribe", "notes", "api", "webhooks", "dead-letters"):
        assert {(account, "roles/cloudtrace.agent"), (account, "roles/monitoring.metricWriter")} <= granted


def test_the_edge_agent_has_its_own_account_limited_to_its_uploads():
    """Defect: the Pulumi program created no edge identity, and README's objectCreator lacked objects.get."""
    from mixscribe_infra.identity import EDGE_PREFIX, EDGE_UPLOADER_PERMISSIONS

    resources = build_under_mocks()
    (role,) = of_type(resources, "projects/iAMCustomRole:IAMCustomRole")
    assert set(role.inputs["permissions"]) == set(EDGE_UPLOADER_PERMISSIONS) == {"storage.objects.create", "storage.objects.get"}
    edge_grants = [g for g in iam_grants(resources) if account_of(g.inputs["member"]) == "edge"]
    by_type = {g.type.rsplit(":", 1)[-1]: g.inputs for g in edge_grants}
    assert set(by_type) == {"BucketIAMMember", "TopicIAMMember"}
    bucket = by_type["BucketIAMMember"]
    assert bucket["bucket"] == "t-uploads" and bucket["role"] == "projects/mixscribe-test/roles/mixscribeEdgeUploader"
    assert bucket["condition"]["expression"] == f'resource.name.startsWith("projects/_/buckets/t-uploads/objects/{EDGE_PREFIX}")'
    assert (
        by_type["TopicIAMMember"]["topic"] == "mixscribe-events" and by_type["TopicIAMMember"]["role"] == "roles/pubsub.publisher"
    )
