"""The program's Pub/Sub equals the shared topology, and every consumed subscription ends in a drained dead letter."""

from __future__ import annotations

from mixscribe_infra.functions import API_TIMEOUT_S, FRAMEWORK_THREADS, SPECS

from mixscribe import topology
from mixscribe.config import Settings
from tests.infra.conftest import of_type

PROJECT = "mixscribe-test"
PUBSUB_AGENT = "serviceAccount:service-123456789@gcp-sa-pubsub.iam.gserviceaccount.com"


def subscriptions(infra) -> dict[str, dict]:
    return {s.inputs["name"]: s.inputs for s in of_type(infra, "pubsub/subscription:Subscription")}


def function_urls(infra) -> dict[str, str]:
    by_name = {f.inputs["name"]: f for f in of_type(infra, "cloudfunctionsv2/function:Function")}
    return {spec.directory: f"https://{by_name[spec.name].inputs['name']}-abc123-uc.a.run.app" for spec in SPECS}


def test_topics_and_subscriptions_equal_the_shared_topology(infra):
    topics = {t.inputs["name"] for t in of_type(infra, "pubsub/topic:Topic")}
    assert topics == set(topology.TOPICS)
    deployed = subscriptions(infra)
    assert set(deployed) == {s.name for s in topology.SUBSCRIPTIONS}
    urls = function_urls(infra)
    for spec in topology.SUBSCRIPTIONS:
        sub = deployed[spec.name]
        assert sub["topic"] == spec.topic and sub["ackDeadlineSeconds"] == spec.ack_deadline_s, spec.name
        assert sub["messageRetentionDuration"] == f"{topology.RETENTION_S}s"
        expected_retry = (
            {"minimumBackoff": f"{spec.retry.minimum_backoff_s}s", "maximumBackoff": f"{spec.retry.maximum_backoff_s}s"}
            if spec.retry
            else None
        )
        assert sub.get("retryPolicy") == expected_retry, spec.name
        expected_dead = (
            {"deadLetterTopic": f"messaging-{spec.dead_letter_topic}-id", "maxDeliveryAttempts": spec.dead_letter_after}
            if spec.dead_letter_topic
            else None
        )
        assert sub.get("deadLetterPolicy") == expected_dead, spec.name
        assert sub.get("filter") == (spec.filter or None), spec.name
        if spec.delivery == topology.PUSH:
            push = sub["pushConfig"]
            assert push["pushEndpoint"] == urls[spec.consumer] + topology.push_path(PROJECT, spec.topic), spec.name
            assert push["oidcToken"] == {
                "serviceAccountEmail": f"mixscribe-trigger@{PROJECT}.iam.gserviceaccount.com",
                "audience": urls[spec.consumer],
            }
        else:
            assert "pushConfig" not in sub, spec.name


def test_every_consumed_subscription_dead_letters_to_a_drained_topic(infra):
    """Defect: Eventarc made the notes, webhooks and storage subscriptions without any dead-letter policy,
    so dead-letters-notes listened on a topic nothing fed."""
    deployed = subscriptions(infra)
    consumers = {spec.directory for spec in SPECS} | {"transcribe"}
    drained = {
        s["topic"]
        for s in deployed.values()
        if s.get("pushConfig", {}).get("pushEndpoint", "").startswith(function_urls(infra)["dead_letters"])
    }
    work = [s for s in topology.SUBSCRIPTIONS if s.consumer in consumers and s.consumer != "dead_letters"]
    assert {s.consumer for s in work} == {"on_upload", "transcribe", "notes", "webhooks"}
    for spec in work:
        policy = deployed[spec.name]["deadLetterPolicy"]
        dead_topic = policy["deadLetterTopic"].removeprefix("messaging-").removesuffix("-id")
        assert dead_topic in drained, f"{spec.name} dead-letters to {dead_topic}, which no function drains"
        assert policy["maxDeliveryAttempts"] >= 5
    agent_subscribers = {
        g.inputs["subscription"]
        for g in of_type(infra, "subscriptionIAMMember:SubscriptionIAMMember")
        if g.inputs["member"] == PUBSUB_AGENT
    }
    assert agent_subscribers == {s.name for s in topology.SUBSCRIPTIONS if s.dead_letter_topic}
    dead_publishers = {
        g.inputs["topic"] for g in of_type(infra, "pubsub/topicIAMMember:TopicIAMMember") if g.inputs["member"] == PUBSUB_AGENT
    }
    assert dead_publishers == set(topology.DEAD_LETTER_TOPICS)


def test_the_webhooks_subscription_filters_as_its_handler_expects(infra):
    """Defect: the webhooks trigger had no filter in the cloud, so it ran for every event, heartbeats included."""
    sub = subscriptions(infra)["webhooks"]
    assert sub["filter"] == (
        'attributes.type = "job.completed" OR attributes.type = "job.failed" OR attributes.type = "upload.rejected"'
    )
    handler = topology.WEBHOOK_EVENT_TYPES
    assert all(f'"{t}"' in sub["filter"] for t in handler)


def test_uploads_reach_intake_through_a_bucket_notification(infra):
    (notification,) = of_type(infra, "storage/notification:Notification")
    assert notification.inputs["bucket"] == "t-uploads" and notification.inputs["eventTypes"] == ["OBJECT_FINALIZE"]
    assert notification.inputs["payloadFormat"] == "JSON_API_V1"
    assert notification.inputs["topic"] == f"messaging-{topology.UPLOADS}-id"
    storage_agent = "serviceAccount:service-123456789@gs-project-accounts.iam.gserviceaccount.com"
    grants = [
        (g.inputs["topic"], g.inputs["role"])
        for g in of_type(infra, "pubsub/topicIAMMember:TopicIAMMember")
        if g.inputs["member"] == storage_agent
    ]
    assert grants == [(topology.UPLOADS, "roles/pubsub.publisher")]  # that topic only, not the project


def test_function_timeouts_are_their_subscriptions_ack_deadlines(infra):
    functions = {
        f.inputs["name"]: f.inputs["serviceConfig"]["timeoutSeconds"]
        for f in of_type(infra, "cloudfunctionsv2/function:Function")
    }
    for spec in SPECS:
        pushes = topology.push_subscriptions(spec.directory)
        if pushes:
            assert functions[spec.name] == max(s.ack_deadline_s for s in pushes) <= 600
    settings = Settings()  # the API's long requests end within its timeout
    assert max(settings.events_max_s, settings.openai_wait_s) < functions["api"] == API_TIMEOUT_S


def deployable_envs(infra) -> dict[str, dict[str, str]]:
    envs = {
        f"function {f.inputs['name']}": f.inputs["serviceConfig"]["environmentVariables"]
        for f in of_type(infra, "cloudfunctionsv2/function:Function")
    }
    for job in of_type(infra, "cloudrunv2/job:Job"):
        container = job.inputs["template"]["template"]["containers"][0]
        envs[f"job {job.inputs['name']}"] = {e["name"]: e["value"] for e in container["envs"]}
    return envs


def test_every_deployable_environment_is_the_shared_settings(infra):

    known = {Settings.variable(name) for name in Settings.model_fields}
    concurrency = {f"function {spec.name}": spec.concurrency for spec in SPECS}
    for deployable, env in deployable_envs(infra).items():
        if concurrency.get(deployable, 1) > 1:  # as many server threads as requests Cloud Run sends at once
            assert env.pop(FRAMEWORK_THREADS) == str(concurrency[deployable]), deployable
        assert set(env) <= known, f"{deployable} sets variables mixscribe.config does not declare: {set(env) - known}"
        settings = Settings.from_env(env)  # valid, as the process will read it
        assert (settings.project, settings.upload_bucket, settings.results_bucket) == (PROJECT, "t-uploads", "t-results")
        # names of the topology come from its one declaration, never restated per deployable
        assert (settings.requests_topic, settings.events_topic, settings.notes_topic) == (
            topology.REQUESTS,
            topology.EVENTS,
            topology.NOTES,
        ), deployable
        assert settings.trace_exporter == "gcp" and settings.metrics_exporter == "gcp"
