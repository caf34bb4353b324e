//! RabbitMQ, when `AMQP_URL` is set: the outbox's transport, the seed's Celery queues, and live
//! events between replicas.
//!
//! - **The outbox stays the ledger.** Events are still written to the outbox in the
//!   transaction that caused them. The relay takes due events, publishes each as a Celery
//!   message (task `tts.outbox`, kwargs `{event_id, topic}`) with publisher confirms, and hides
//!   it for [`RELAY_LEASE`]; a consumer (in any `tts serve` or `tts worker`) runs the event's
//!   handler, which marks it processed in the transaction of its effect, and only then acks.
//!   A handler failure is recorded on the event, which the relay sends again after its backoff;
//!   a message lost with the broker's disk is sent again when its lease runs out; a message
//!   taken twice finds its event processed and does nothing. While the broker is down nothing
//!   is taken from the outbox, so everything written meanwhile goes out on reconnection.
//! - **The seed's queues** are declared exactly as Celery declares them (a durable direct
//!   exchange named like the queue, a durable queue with no arguments, bound by its name), so
//!   either side may start first. Messages from other systems are read with [`celery::decode`]
//!   and routed by task name to the same services as the REST API.
//! - **Nothing is dropped.** A message that can never succeed (not JSON, a missing field, an
//!   unknown task, a rule it breaks) goes at once to [`DEAD_LETTER_QUEUE`] with the reason in
//!   its `x-tts-reason` header. One that fails for a passing reason (the database is away) is
//!   published again with `x-tts-tries` counted up, after a growing pause, and dead-lettered
//!   after [`MAX_TRIES`]. The original is acked only once the copy is confirmed. We do not use
//!   RabbitMQ's `x-dead-letter-exchange`: it is a queue argument, and a queue declared with
//!   arguments Celery does not give could not be declared by both sides.
//! - **Live events** (comments, typing, "read", "notifications written") go to every replica
//!   through the fanout exchange [`LIVE_EXCHANGE`]: each process binds a private queue and
//!   skips its own messages. A fanout rather than PostgreSQL `LISTEN/NOTIFY`: the broker is
//!   there in every cluster, it works with either database, and NOTIFY's 8,000-byte payload
//!   limit would not carry a long comment.

pub mod celery;

use std::time::Duration;

use chrono::TimeDelta;
use futures::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use serde_json::{Value, json};
use services::Services;
use services::auth::policy::Principal;
use services::live::PeerEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use celery::TaskMessage;

/// Tickets from the help desk (HDTS): `tickets.tasks.receive_ticket`.
pub const TICKET_QUEUE: &str = "TICKET_TASKS_PRODUCTION";
/// E-mail work: `task.send_assignment_notification`, and our e-mail and digest events.
pub const EMAIL_QUEUE: &str = "notification-queue-default";
/// In-app work: `notifications.*`, and our comment events (they notify people).
pub const INAPP_QUEUE: &str = "inapp-notification-queue";
/// Our workflow events: tickets to start, end logic to call.
pub const WORKFLOW_QUEUE: &str = "tts.workflow";
/// Every queue consumers take work from.
pub const WORK_QUEUES: [&str; 4] = [TICKET_QUEUE, EMAIL_QUEUE, INAPP_QUEUE, WORKFLOW_QUEUE];
/// Messages that could not be processed, with their reason.
pub const DEAD_LETTER_QUEUE: &str = "tts.dead-letter";
/// Live events between replicas.
pub const LIVE_EXCHANGE: &str = "tts.live";

/// The task name of relayed outbox events.
pub const OUTBOX_TASK: &str = "tts.outbox";
/// Tries of a message failing for a passing reason before it is dead-lettered.
pub const MAX_TRIES: i64 = 5;
/// How long a taken event may take to be published: if the process dies before RabbitMQ
/// confirms it, it is taken again after this.
const PUBLISH_LEASE: TimeDelta = TimeDelta::seconds(10);
/// Most outbox events taken to publish at once.
const PUBLISH_BATCH: i64 = 100;
/// How long a published event waits for its consumer before it is sent again.
const RELAY_LEASE: TimeDelta = TimeDelta::minutes(10);
/// The first wait before reconnecting; it doubles up to 15 s while the broker stays away.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// How often the outbox is looked at without being woken (other processes' events, retries).
const RELAY_POLL: Duration = Duration::from_secs(1);
/// Unacknowledged messages a consumer holds, and how many it works on at once.
const PREFETCH: u16 = 32;
const PARALLEL: usize = 8;

/// The queue for an outbox topic.
fn queue_for(topic: &str) -> &'static str {
    match topic {
        services::tickets::TICKET_CREATED | services::tasks::END_LOGIC => WORKFLOW_QUEUE,
        services::comments::COMMENT_POSTED => INAPP_QUEUE,
        _ => EMAIL_QUEUE,
    }
}

/// Keeps a connection to the broker while `cancel` is not fired, reconnecting with backoff:
/// relays the outbox, consumes the work queues, and links live events with other replicas.
pub async fn run(url: String, services: Services, cancel: CancellationToken) {
    let origin = uuid::Uuid::new_v4().to_string();
    let mut peer_events = services.live().link_peers();
    let mut pause = FIRST_PAUSE;
    loop {
        let outcome = session(
            &url,
            &services,
            &origin,
            peer_events.as_mut(),
            &mut pause,
            &cancel,
        )
        .await;
        if cancel.is_cancelled() {
            break;
        }
        match outcome {
            Ok(()) => break,
            Err(err) => {
                tracing::warn!(
                    error = format!("{err:#}"),
                    retry_in_ms = pause.as_millis() as u64,
                    "RabbitMQ connection lost; reconnecting"
                );
            }
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(15));
    }
    tracing::info!("RabbitMQ link stopped");
}

async fn session(
    url: &str,
    services: &Services,
    origin: &str,
    peer_events: Option<&mut mpsc::Receiver<PeerEvent>>,
    pause: &mut Duration,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let connection = Connection::connect(
        url,
        ConnectionProperties::default().with_connection_name("tts".into()),
    )
    .await?;
    let publisher = connection.create_channel().await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    declare(&publisher).await?;
    tracing::info!("connected to RabbitMQ");
    // Connected: the next loss starts its backoff afresh.
    *pause = FIRST_PAUSE;
    let outcome = tokio::select! {
        () = cancel.cancelled() => Ok(()),
        outcome = relay(services, &publisher, cancel) => outcome,
        outcome = consume(&connection, services, &publisher) => outcome,
        outcome = live_link(&connection, services, origin, peer_events) => outcome,
    };
    let _ = connection.close(200, "bye".into()).await;
    outcome
}

/// Declares the queues and exchanges as Celery would (see the module's notes).
async fn declare(channel: &Channel) -> lapin::Result<()> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    for queue in WORK_QUEUES {
        channel
            .exchange_declare(
                queue.into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(queue.into(), durable, FieldTable::default())
            .await?;
        channel
            .queue_bind(
                queue.into(),
                queue.into(),
                queue.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    channel
        .queue_declare(DEAD_LETTER_QUEUE.into(), durable, FieldTable::default())
        .await?;
    channel
        .exchange_declare(
            LIVE_EXCHANGE.into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Publishes due outbox events until the connection fails or `cancel` fires.
async fn relay(
    services: &Services,
    channel: &Channel,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let wake = services.outbox_wake().clone();
    loop {
        let events = match services::outbox::claim_due(services, PUBLISH_LEASE, PUBLISH_BATCH).await
        {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(error = %err, "taking outbox events failed");
                Vec::new()
            }
        };
        let full = i64::try_from(events.len()).unwrap_or(i64::MAX) >= PUBLISH_BATCH;
        if let Err(err) = publish_events(services, channel, &events).await {
            // The batch goes back to the outbox at once rather than after its lease.
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            if let Err(db) =
                services::outbox::retry_soon(services, &ids, &format!("not published: {err}")).await
            {
                tracing::warn!(error = %db, "could not put unpublished events back");
            }
            return Err(err);
        }
        if full {
            continue;
        }
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            () = wake.notified() => {}
            () = tokio::time::sleep(RELAY_POLL) => {}
        }
    }
}

async fn publish_events(
    services: &Services,
    channel: &Channel,
    events: &[services::db::outbox::ClaimedEvent],
) -> anyhow::Result<()> {
    let mut confirms = Vec::with_capacity(events.len());
    for event in events {
        let queue = queue_for(&event.topic);
        let (properties, body) = celery::encode(
            OUTBOX_TASK,
            &event.event_key,
            json!({ "event_id": event.id, "topic": event.topic }),
        );
        let confirm = channel
            .basic_publish(
                queue.into(),
                queue.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &body,
                properties,
            )
            .await?;
        confirms.push((event.id, confirm));
    }
    let mut refused = Vec::new();
    let mut taken = Vec::new();
    for (id, confirm) in confirms {
        match confirm.await? {
            Confirmation::Ack(None) => taken.push(id),
            _ => refused.push(id),
        }
    }
    services::outbox::postpone(services, &taken, RELAY_LEASE).await?;
    if !refused.is_empty() {
        tracing::warn!(
            count = refused.len(),
            "RabbitMQ did not take some outbox events; they go again shortly"
        );
        services::outbox::retry_soon(services, &refused, "RabbitMQ did not confirm it").await?;
    }
    Ok(())
}

/// Takes messages from the work queues until the connection fails.
async fn consume(
    connection: &Connection,
    services: &Services,
    publisher: &Channel,
) -> anyhow::Result<()> {
    let channel = connection.create_channel().await?;
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await?;
    let mut consumers = Vec::new();
    for queue in WORK_QUEUES {
        consumers.push(
            channel
                .basic_consume(
                    queue.into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?,
        );
    }
    futures::stream::select_all(consumers)
        .for_each_concurrent(PARALLEL, |delivery| async move {
            match delivery {
                Ok(delivery) => take(services, publisher, delivery).await,
                Err(err) => tracing::warn!(error = %err, "RabbitMQ consumer failed"),
            }
        })
        .await;
    anyhow::bail!("the consumers stopped")
}

/// What became of a message.
enum Outcome {
    Done,
    /// It can never succeed: dead-letter it with this reason.
    Refused(String),
    /// It failed for a passing reason: try again later.
    Failed(String),
}

impl From<services::Error> for Outcome {
    fn from(err: services::Error) -> Self {
        match err {
            services::Error::App(e) => {
                use domain::ErrorKind::*;
                let mut reason = e.message.clone();
                for (field, problem) in &e.details {
                    let detail = format!("{field}: {problem}");
                    if !reason.contains(&detail) {
                        reason.push_str(&format!("; {detail}"));
                    }
                }
                match e.kind {
                    Unavailable | Conflict | RateLimited | Internal => Outcome::Failed(reason),
                    _ => Outcome::Refused(reason),
                }
            }
            services::Error::Internal(e) => Outcome::Failed(format!("{e:#}")),
        }
    }
}

/// What to do with a message after its `tries`-th try.
#[derive(Debug, PartialEq)]
enum Step {
    Ack,
    DeadLetter(String),
    Retry { after: Duration, reason: String },
}

/// Refused messages are dead-lettered at once (they would fail the same way every time);
/// failures for a passing reason are tried again after 0.5, 1, 2, 4 s, and dead-lettered
/// on the [`MAX_TRIES`]th.
fn next_step(outcome: Outcome, tries: i64) -> Step {
    match outcome {
        Outcome::Done => Step::Ack,
        Outcome::Refused(reason) => Step::DeadLetter(reason),
        Outcome::Failed(reason) if tries >= MAX_TRIES => {
            Step::DeadLetter(format!("failed {tries} times; last: {reason}"))
        }
        Outcome::Failed(reason) => Step::Retry {
            after: Duration::from_millis(250 << tries.clamp(1, 10)),
            reason,
        },
    }
}

/// Handles one message and acknowledges it once its effect is committed, or its dead letter
/// or retry copy is confirmed; if neither could be done it goes back to the queue.
async fn take(services: &Services, publisher: &Channel, delivery: Delivery) {
    let outcome = match celery::decode(&delivery.properties, &delivery.data) {
        Err(reason) => Outcome::Refused(reason),
        Ok(message) => run_task(services, &message).await,
    };
    let tries = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|h| celery::header_number(h, "x-tts-tries"))
        .unwrap_or(0)
        + 1;
    let forwarded = match next_step(outcome, tries) {
        Step::Ack => Ok(()),
        Step::DeadLetter(reason) => dead_letter(publisher, &delivery, &reason, tries).await,
        Step::Retry { after, reason } => {
            tracing::info!(tries, reason, "message failed; trying again");
            tokio::time::sleep(after).await;
            send_again(publisher, &delivery, tries).await
        }
    };
    let acked = match forwarded {
        Ok(()) => delivery.ack(BasicAckOptions::default()).await,
        Err(err) => {
            tracing::warn!(
                error = format!("{err:#}"),
                "could not forward a failed message; it goes back to its queue"
            );
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await
        }
    };
    if let Err(err) = acked {
        tracing::warn!(error = %err, "acknowledging a message failed (it will come again)");
    }
}

/// Copies the message to the dead-letter queue with why it failed.
async fn dead_letter(
    publisher: &Channel,
    delivery: &Delivery,
    reason: &str,
    tries: i64,
) -> anyhow::Result<()> {
    let task = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|h| celery::header_text(h, "task"))
        .unwrap_or_default();
    tracing::warn!(task, reason, queue = %delivery.routing_key, "message dead-lettered");
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert("x-tts-reason".into(), celery::text(reason));
    headers.insert(
        "x-tts-queue".into(),
        celery::text(delivery.routing_key.as_str()),
    );
    headers.insert("x-tts-tries".into(), AMQPValue::LongLongInt(tries));
    headers.insert(
        "x-tts-failed-at".into(),
        celery::text(&chrono::Utc::now().to_rfc3339()),
    );
    publish_copy(publisher, "", DEAD_LETTER_QUEUE, delivery, headers).await
}

/// Puts the message back at the end of its queue with its tries counted.
async fn send_again(publisher: &Channel, delivery: &Delivery, tries: i64) -> anyhow::Result<()> {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert("x-tts-tries".into(), AMQPValue::LongLongInt(tries));
    publish_copy(
        publisher,
        delivery.exchange.as_str(),
        delivery.routing_key.as_str(),
        delivery,
        headers,
    )
    .await
}

async fn publish_copy(
    publisher: &Channel,
    exchange: &str,
    routing_key: &str,
    delivery: &Delivery,
    headers: FieldTable,
) -> anyhow::Result<()> {
    let properties: BasicProperties = delivery.properties.clone().with_headers(headers);
    let confirm = publisher
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            &delivery.data,
            properties,
        )
        .await?
        .await?;
    match confirm {
        Confirmation::Ack(None) => Ok(()),
        other => anyhow::bail!("RabbitMQ did not take the copy: {other:?}"),
    }
}

/// The Celery tasks consumed, each with the one API-key scope it acts with: what its sender in
/// the seeds needs, nothing more (whoever can publish to the queues can send any of them). Our
/// own relayed outbox events act as nobody: they carry an event id, and the event was written
/// by an operation that was authorized when it ran.
pub const CONSUMED_TASKS: [(&str, Option<&str>); 6] = [
    (OUTBOX_TASK, None),
    ("tickets.tasks.receive_ticket", Some("tickets:submit")),
    (
        "notifications.create_inapp_notification",
        Some("notifications:send"),
    ),
    (
        "notifications.bulk_create_notifications",
        Some("notifications:send"),
    ),
    (
        "task.send_assignment_notification",
        Some("notifications:send"),
    ),
    (
        "notifications.mark_notification_read",
        Some("notifications:send"),
    ),
];

/// Who a consumed task acts as ([`CONSUMED_TASKS`]); `None` for an unknown task or our own
/// relayed events.
pub fn task_principal(task: &str) -> Option<Principal> {
    CONSUMED_TASKS
        .iter()
        .find(|(name, _)| *name == task)
        .and_then(|(_, scope)| scope.map(Principal::celery))
}

/// The seed's task names, and our own relayed events.
async fn run_task(services: &Services, message: &TaskMessage) -> Outcome {
    match run_task_inner(services, message).await {
        Ok(()) => Outcome::Done,
        Err(outcome) => outcome,
    }
}

async fn run_task_inner(services: &Services, message: &TaskMessage) -> Result<(), Outcome> {
    let refused = Outcome::Refused;
    let acting = || {
        task_principal(&message.task)
            .ok_or_else(|| Outcome::Refused(format!("no principal for '{}'", message.task)))
    };
    match message.task.as_str() {
        OUTBOX_TASK => {
            let id = message
                .kwarg("event_id")
                .map_err(refused)?
                .as_i64()
                .ok_or_else(|| Outcome::Refused("event_id is not a number".into()))?;
            services::outbox::process_by_id(services, id).await?;
        }
        "tickets.tasks.receive_ticket" => {
            let data = message.kwarg("ticket_data").map_err(refused)?;
            let input: services::tickets::ExternalTicket = serde_json::from_value(data.clone())
                .map_err(|e| Outcome::Refused(format!("ticket_data: {e}")))?;
            let (ticket, created) = services::tickets::submit_external(
                services,
                &acting()?,
                input,
                domain::tickets::TicketSource::Hdts,
            )
            .await?;
            tracing::info!(
                ticket = ticket.id,
                created,
                message = message.id,
                "ticket received from RabbitMQ"
            );
        }
        "notifications.create_inapp_notification" => {
            let notification = outside_notification(Value::Object(message.kwargs.clone()))?;
            notify(services, &acting()?, message, &[notification]).await?;
        }
        "notifications.bulk_create_notifications" => {
            let list = message.kwarg("notifications").map_err(refused)?;
            let Value::Array(list) = list else {
                return Err(Outcome::Refused("notifications is not a list".into()));
            };
            let batch = list
                .iter()
                .cloned()
                .map(outside_notification)
                .collect::<Result<Vec<_>, _>>()?;
            notify(services, &acting()?, message, &batch).await?;
        }
        "task.send_assignment_notification" => {
            let notification = assignment_notification(message)?;
            notify(services, &acting()?, message, &[notification]).await?;
        }
        "notifications.mark_notification_read" => {
            let number = |name: &str| {
                message
                    .kwarg(name)
                    .map_err(Outcome::Refused)?
                    .as_i64()
                    .ok_or_else(|| Outcome::Refused(format!("{name} is not a number")))
            };
            let user_id = number("user_id")?;
            let notification_id = number("notification_id")?;
            services::notifications::mark_read_for(services, &acting()?, user_id, notification_id)
                .await?;
        }
        other => {
            return Err(Outcome::Refused(format!("unknown task name '{other}'")));
        }
    }
    Ok(())
}

fn outside_notification(
    value: Value,
) -> Result<domain::notifications::OutsideNotification, Outcome> {
    serde_json::from_value(value).map_err(|e| Outcome::Refused(format!("notification: {e}")))
}

/// `task.send_assignment_notification(user_id | email, task_id, [title | subject], [message],
/// [link])`: an "assigned to you" notification (in-app, and e-mail as the user chose).
fn assignment_notification(
    message: &TaskMessage,
) -> Result<domain::notifications::OutsideNotification, Outcome> {
    let kwargs = &message.kwargs;
    let text = |name: &str| kwargs.get(name).and_then(Value::as_str).map(str::to_owned);
    let task_id = match kwargs.get("task_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(Outcome::Refused(
                "task.send_assignment_notification: task_id is missing".into(),
            ));
        }
    };
    Ok(domain::notifications::OutsideNotification {
        user_id: kwargs.get("user_id").and_then(Value::as_i64),
        email: text("email"),
        kind: Some("task.assigned".into()),
        title: text("title")
            .or_else(|| text("subject"))
            .unwrap_or_else(|| format!("Task {task_id} is assigned to you")),
        body: text("message").unwrap_or_default(),
        link: text("link"),
    })
}

/// Creates the notifications once per message, however often it is delivered.
async fn notify(
    services: &Services,
    sender: &Principal,
    message: &TaskMessage,
    batch: &[domain::notifications::OutsideNotification],
) -> Result<(), Outcome> {
    services::email::send_from_outside(services, sender, batch, Some(&message.id)).await?;
    Ok(())
}

/// Sends this process's live events to the other replicas and delivers theirs here.
async fn live_link(
    connection: &Connection,
    services: &Services,
    origin: &str,
    outgoing: Option<&mut mpsc::Receiver<PeerEvent>>,
) -> anyhow::Result<()> {
    let channel = connection.create_channel().await?;
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.name().clone(),
            LIVE_EXCHANGE.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut incoming = channel
        .basic_consume(
            queue.name().clone(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    let receive = async {
        while let Some(delivery) = incoming.next().await {
            let delivery = delivery?;
            let from = delivery
                .properties
                .app_id()
                .as_ref()
                .map(|id| id.as_str().to_owned());
            if from.as_deref() == Some(origin) {
                continue;
            }
            match serde_json::from_slice::<PeerEvent>(&delivery.data) {
                Ok(event) => services.live().receive_from_peer(event),
                Err(err) => {
                    tracing::warn!(error = %err, "unreadable live event from another replica")
                }
            }
        }
        anyhow::bail!("the live event consumer stopped")
    };
    let send = async {
        let Some(outgoing) = outgoing else {
            return std::future::pending().await;
        };
        // Live events are a courtesy (see services::live): sent without confirms.
        while let Some(event) = outgoing.recv().await {
            let body = serde_json::to_vec(&event)?;
            channel
                .basic_publish(
                    LIVE_EXCHANGE.into(),
                    "".into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default()
                        .with_app_id(origin.into())
                        .with_content_type("application/json".into()),
                )
                .await?;
        }
        Ok(())
    };
    tokio::select! {
        outcome = receive => outcome,
        outcome = send => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_failures_are_retried_with_backoff_then_dead_lettered() {
        let failed = || Outcome::Failed("database away".into());
        let waits: Vec<Duration> = (1..MAX_TRIES)
            .map(|tries| match next_step(failed(), tries) {
                Step::Retry { after, .. } => after,
                other => panic!("try {tries}: {other:?}"),
            })
            .collect();
        assert_eq!(
            waits,
            [500, 1000, 2000, 4000].map(Duration::from_millis).to_vec()
        );
        assert_eq!(
            next_step(failed(), MAX_TRIES),
            Step::DeadLetter("failed 5 times; last: database away".into())
        );
    }

    #[test]
    fn refused_messages_are_dead_lettered_at_once_and_done_ones_acked() {
        assert_eq!(
            next_step(Outcome::Refused("unknown task name 'x'".into()), 1),
            Step::DeadLetter("unknown task name 'x'".into())
        );
        assert_eq!(next_step(Outcome::Done, 1), Step::Ack);
    }

    #[test]
    fn a_database_outage_is_passing_and_a_broken_rule_is_not() {
        let unavailable = services::Error::App(domain::AppError::unavailable("down"));
        assert!(matches!(Outcome::from(unavailable), Outcome::Failed(_)));
        let invalid = services::Error::App(domain::AppError::invalid_field(
            "category",
            "is not a category",
        ));
        assert!(matches!(Outcome::from(invalid), Outcome::Refused(r) if r.contains("category")));
    }

    /// The Celery rows of the authorization matrix: each consumed task may do exactly what its
    /// scope allows, and the task list is the one `run_task` handles.
    #[test]
    fn each_consumed_task_acts_with_its_own_scope_only() {
        use services::auth::policy::{Permission, authorize};
        let every = Permission::ALL;
        let allowed = |task: &str| -> Vec<Permission> {
            let principal = task_principal(task).unwrap();
            every
                .into_iter()
                .filter(|p| authorize(&principal, *p).is_ok())
                .collect()
        };
        assert_eq!(
            allowed("tickets.tasks.receive_ticket"),
            [Permission::SubmitTickets, Permission::SubmitExternalTickets]
        );
        for task in [
            "notifications.create_inapp_notification",
            "notifications.bulk_create_notifications",
            "task.send_assignment_notification",
            "notifications.mark_notification_read",
        ] {
            assert_eq!(allowed(task), [Permission::SendNotifications], "{task}");
        }
        assert!(task_principal(OUTBOX_TASK).is_none());
        assert!(task_principal("tickets.tasks.other").is_none());
        assert_eq!(
            CONSUMED_TASKS.len(),
            6,
            "a new task needs its row here and in docs/security.md"
        );
    }

    #[test]
    fn outbox_topics_go_to_their_queues() {
        assert_eq!(queue_for(services::tickets::TICKET_CREATED), WORKFLOW_QUEUE);
        assert_eq!(queue_for(services::comments::COMMENT_POSTED), INAPP_QUEUE);
        for topic in services::outbox::TOPICS {
            assert!(WORK_QUEUES.contains(&queue_for(topic)), "{topic}");
        }
    }
}
