//! Celery's message format (protocol 2, JSON), as a stock Celery 5 client publishes it with
//! `app.send_task(name, args=..., kwargs=..., queue=...)`:
//!
//! - headers: `task` (the task name), `id` (the task id, unique per message), `lang`,
//!   `retries`, `origin` and a few more we keep but do not need;
//! - `content_type: application/json`, `content_encoding: utf-8`;
//! - body: `[args, kwargs, embed]`.
//!
//! Protocol 1 (the whole message in the body: `{"task", "id", "args", "kwargs"}`) is read too,
//! for older clients. Only JSON is accepted: pickle is unsafe and msgpack/yaml are rare; a
//! message in another serializer is refused with that reason.

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use serde_json::{Map, Value};

/// A task message taken from a queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMessage {
    pub id: String,
    pub task: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
}

impl TaskMessage {
    /// A keyword argument, refused with a reason naming it when it is missing.
    pub fn kwarg(&self, name: &str) -> Result<&Value, String> {
        self.kwargs.get(name).ok_or_else(|| {
            format!(
                "task {}: the keyword argument '{name}' is missing",
                self.task
            )
        })
    }
}

/// Reads a message; the error is the reason it cannot be (for the dead-letter queue).
pub fn decode(properties: &BasicProperties, body: &[u8]) -> Result<TaskMessage, String> {
    if let Some(content_type) = properties.content_type()
        && content_type.as_str() != "application/json"
    {
        return Err(format!(
            "content type '{content_type}' is not accepted: send JSON (Celery's default serializer)"
        ));
    }
    if let Some(encoding) = properties.content_encoding()
        && !matches!(encoding.as_str(), "utf-8" | "utf8" | "binary")
    {
        return Err(format!("content encoding '{encoding}' is not accepted"));
    }
    let body: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let headers = properties.headers().as_ref();
    match headers.and_then(|h| header_text(h, "task")) {
        Some(task) => decode_v2(headers, task, body),
        None => decode_v1(body),
    }
}

fn decode_v2(
    headers: Option<&FieldTable>,
    task: String,
    body: Value,
) -> Result<TaskMessage, String> {
    let id = headers
        .and_then(|h| header_text(h, "id"))
        .filter(|id| !id.is_empty())
        .ok_or("the 'id' header is missing")?;
    let Value::Array(mut parts) = body else {
        return Err("the body is not [args, kwargs, embed] (Celery protocol 2)".into());
    };
    if parts.len() < 2 {
        return Err("the body is not [args, kwargs, embed] (Celery protocol 2)".into());
    }
    let kwargs = parts.swap_remove(1);
    let args = parts.swap_remove(0);
    Ok(TaskMessage {
        id,
        task,
        args: as_args(args)?,
        kwargs: as_kwargs(kwargs)?,
    })
}

fn decode_v1(body: Value) -> Result<TaskMessage, String> {
    let Value::Object(mut message) = body else {
        return Err("no 'task' header, and the body is not a Celery protocol 1 message".into());
    };
    let text = |message: &mut Map<String, Value>, key: &str| match message.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(format!("no 'task' header, and the body has no '{key}'")),
    };
    let task = text(&mut message, "task")?;
    let id = text(&mut message, "id")?;
    Ok(TaskMessage {
        id,
        task,
        args: as_args(message.remove("args").unwrap_or(Value::Null))?,
        kwargs: as_kwargs(message.remove("kwargs").unwrap_or(Value::Null))?,
    })
}

fn as_args(value: Value) -> Result<Vec<Value>, String> {
    match value {
        Value::Array(args) => Ok(args),
        Value::Null => Ok(Vec::new()),
        _ => Err("args is not a list".into()),
    }
}

fn as_kwargs(value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(kwargs) => Ok(kwargs),
        Value::Null => Ok(Map::new()),
        _ => Err("kwargs is not an object".into()),
    }
}

/// A header as text (Celery sends strings as AMQP long strings).
pub fn header_text(headers: &FieldTable, key: &str) -> Option<String> {
    match headers.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// A header as a number (our retry count).
pub fn header_number(headers: &FieldTable, key: &str) -> Option<i64> {
    match headers.inner().get(key)? {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        _ => None,
    }
}

/// The message a Celery client would publish for `task` with these keyword arguments: what we
/// send ourselves, so that one reader takes every message on our queues (and a Celery worker
/// could take ours).
pub fn encode(task: &str, id: &str, kwargs: Value) -> (BasicProperties, Vec<u8>) {
    let mut headers = FieldTable::default();
    headers.insert("lang".into(), text("rust"));
    headers.insert("task".into(), text(task));
    headers.insert("id".into(), text(id));
    headers.insert("root_id".into(), text(id));
    headers.insert("retries".into(), AMQPValue::LongLongInt(0));
    headers.insert("origin".into(), text("tts"));
    let body = serde_json::json!([[], kwargs, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]);
    let properties = BasicProperties::default()
        .with_content_type(ShortString::from("application/json"))
        .with_content_encoding(ShortString::from("utf-8"))
        .with_correlation_id(ShortString::from(id))
        .with_delivery_mode(2) // persistent
        .with_headers(headers);
    (properties, body.to_string().into_bytes())
}

pub fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn celery_properties(task: &str, id: &str) -> BasicProperties {
        let mut headers = FieldTable::default();
        headers.insert("lang".into(), text("py"));
        headers.insert("task".into(), text(task));
        headers.insert("id".into(), text(id));
        BasicProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("utf-8".into())
            .with_headers(headers)
    }

    #[test]
    fn reads_what_celery_sends() {
        let body = br#"[[], {"ticket_data": {"ticket_id": 7}}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]"#;
        let message = decode(
            &celery_properties("tickets.tasks.receive_ticket", "abc"),
            body,
        )
        .unwrap();
        assert_eq!(message.task, "tickets.tasks.receive_ticket");
        assert_eq!(message.id, "abc");
        assert_eq!(message.kwargs["ticket_data"]["ticket_id"], 7);
        assert!(message.args.is_empty());
    }

    #[test]
    fn reads_what_it_writes() {
        let (properties, body) = encode("tts.outbox", "ev-1", serde_json::json!({"event_id": 3}));
        let message = decode(&properties, &body).unwrap();
        assert_eq!(message.task, "tts.outbox");
        assert_eq!(message.id, "ev-1");
        assert_eq!(message.kwargs["event_id"], 3);
    }

    #[test]
    fn reads_protocol_one() {
        let body = br#"{"task": "notifications.mark_notification_read", "id": "x1", "args": [], "kwargs": {"notification_id": 4}}"#;
        let message = decode(&BasicProperties::default(), body).unwrap();
        assert_eq!(message.task, "notifications.mark_notification_read");
        assert_eq!(message.kwargs["notification_id"], 4);
    }

    #[test]
    fn refuses_with_a_reason() {
        let properties = celery_properties("t", "1");
        let refused =
            |properties: &BasicProperties, body: &[u8]| decode(properties, body).unwrap_err();
        assert!(refused(&properties, b"not json").contains("not JSON"));
        assert!(refused(&properties, b"{}").contains("[args, kwargs, embed]"));
        assert!(refused(&properties, b"[[], 5, {}]").contains("kwargs"));
        assert!(refused(&BasicProperties::default(), b"{\"id\": \"1\"}").contains("'task'"));
        let pickle =
            BasicProperties::default().with_content_type("application/x-python-serialize".into());
        assert!(refused(&pickle, b"\x80\x04").contains("not accepted"));
        let mut no_id = FieldTable::default();
        no_id.insert("task".into(), text("t"));
        let no_id = BasicProperties::default().with_headers(no_id);
        assert!(refused(&no_id, b"[[], {}, {}]").contains("'id'"));
    }
}
