//! Tickets: submitting them (portal, REST, external systems), reading them within the
//! caller's visibility, listing, searching, changing them, and their history. Every new
//! ticket writes its `ticket.created` event to the outbox in the same transaction.

use chrono::Utc;
use domain::tasks::TaskStatus;
use domain::tickets::{
    AgentVisibility, MAX_STATUS_NOTE, NamedRef, NewTicket, PersonRef, Priority, ReopenRequest,
    StatusChange, StatusMove, StatusRefusal, Ticket, TicketEvent, TicketNumber, TicketOrdering,
    TicketQuery, TicketReceipt, TicketSource, TicketStatus, TicketSummary, TicketUpdate,
    UNKNOWN_NAMES_FIELD, WorkflowState, check_description, check_subject, status_move,
};
use domain::{AppError, ErrorKind, Page};
use serde::Deserialize;

use crate::auth::policy::{Permission, Principal, TicketScope, authorize, ticket_scope};
use crate::db::outbox::{self, OutboxEvent};
use crate::db::tasks as task_rows;
use crate::db::tickets::{
    self as rows, Arg, FullTextMatch, ListOrder, ListQuery, NewEvent, NewTicketRow, TicketRow,
};
use crate::db::{Backend, Conn, Db};
use crate::error::Result;
use crate::{markdown, reference};

/// Largest `fields` object, serialised.
const MAX_FIELDS_BYTES: usize = 16 * 1024;
/// Longest `external_ref`.
const MAX_EXTERNAL_REF: usize = 100;

pub const TICKET_CREATED: &str = "ticket.created";

/// A ticket submitted by another system: the seed's HDTS shape (`ticket_data` with the
/// system's own `ticket_id` and an `employee` block). Names of category, sub-category,
/// department and priority are matched ignoring letter case.
#[derive(Debug, Clone, Deserialize)]
pub struct ExternalTicket {
    /// The submitting system's id of the ticket: repeated submissions find the same ticket.
    #[serde(alias = "external_ref")]
    pub ticket_id: serde_json::Value,
    pub subject: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub sub_category: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub employee: Option<ExternalEmployee>,
    /// Anything else the system sent is kept in the ticket's flexible fields.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ExternalEmployee {
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Reads the admins' choice of which tickets agents see.
pub async fn agent_visibility(db: &Db) -> Result<AgentVisibility> {
    let mut pooled = db.acquire().await?;
    let value = rows::setting(&mut pooled.conn(), reference::AGENT_VISIBILITY).await?;
    Ok(match value.as_deref() {
        Some("all") => AgentVisibility::All,
        _ => AgentVisibility::OwnDepartments,
    })
}

async fn scope_of(db: &Db, principal: &Principal) -> Result<TicketScope> {
    // The setting concerns agents only: the others are spared reading it on every request.
    let is_agent = principal
        .user()
        .is_some_and(|user| user.user.tts_role() == domain::SystemRole::Agent);
    let agents_see = if is_agent {
        agent_visibility(db).await?
    } else {
        AgentVisibility::default()
    };
    Ok(ticket_scope(principal, agents_see)?)
}

/// The reference ids a new or changed ticket names, checked: each exists and is active, and
/// the sub-category belongs to the category.
async fn check_references(
    conn: &mut Conn<'_>,
    category_id: Option<i64>,
    sub_category_id: Option<i64>,
    department_id: Option<i64>,
) -> Result<()> {
    let named = ReferenceIds {
        category_id,
        sub_category_id,
        department_id,
    };
    References::read(conn, &[named]).await?.check(named)
}

/// The category, sub-category and department a ticket names.
#[derive(Debug, Clone, Copy)]
struct ReferenceIds {
    category_id: Option<i64>,
    sub_category_id: Option<i64>,
    department_id: Option<i64>,
}

/// The reference data some tickets name, read to check them.
struct References {
    /// Each category's parent and whether it is active.
    categories: std::collections::HashMap<i64, (Option<i64>, bool)>,
    /// Whether each department is active.
    departments: std::collections::HashMap<i64, bool>,
}

impl References {
    /// Reads what `named` mention: two statements however many tickets (a batch of
    /// submissions is checked at once).
    async fn read(conn: &mut Conn<'_>, named: &[ReferenceIds]) -> sqlx::Result<Self> {
        let mut category_ids: Vec<i64> = named
            .iter()
            .flat_map(|ids| [ids.category_id, ids.sub_category_id])
            .flatten()
            .collect();
        category_ids.sort_unstable();
        category_ids.dedup();
        let mut department_ids: Vec<i64> =
            named.iter().filter_map(|ids| ids.department_id).collect();
        department_ids.sort_unstable();
        department_ids.dedup();
        let categories = rows::categories_brief(conn, &category_ids)
            .await?
            .into_iter()
            .map(|(id, parent, active)| (id, (parent, active)))
            .collect();
        let departments = rows::departments_active(conn, &department_ids)
            .await?
            .into_iter()
            .collect();
        Ok(Self {
            categories,
            departments,
        })
    }

    /// Each of `named` exists and is active, and the sub-category belongs to the category.
    fn check(&self, named: ReferenceIds) -> Result<()> {
        if let Some(id) = named.category_id
            && self.categories.get(&id) != Some(&(None, true))
        {
            return Err(AppError::invalid_field("category_id", "is not a category").into());
        }
        if let Some(id) = named.sub_category_id {
            match self.categories.get(&id) {
                Some(&(Some(parent), true)) if Some(parent) == named.category_id => {}
                _ => {
                    return Err(AppError::invalid_field(
                        "sub_category_id",
                        "is not a sub-category of the chosen category",
                    )
                    .into());
                }
            }
        }
        if let Some(id) = named.department_id
            && self.departments.get(&id) != Some(&true)
        {
            return Err(AppError::invalid_field("department_id", "is not a department").into());
        }
        Ok(())
    }
}

fn check_fields(fields: serde_json::Value) -> Result<String> {
    let fields = match fields {
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        object @ serde_json::Value::Object(_) => object,
        _ => return Err(AppError::invalid_field("fields", "must be a JSON object").into()),
    };
    let text = fields.to_string();
    if text.len() > MAX_FIELDS_BYTES {
        return Err(AppError::invalid_field(
            "fields",
            format!("must be at most {} KiB", MAX_FIELDS_BYTES / 1024),
        )
        .into());
    }
    Ok(text)
}

/// A ticket as validated, ready to insert.
struct Submission {
    subject: String,
    description: String,
    category_id: Option<i64>,
    sub_category_id: Option<i64>,
    department_id: Option<i64>,
    priority: Priority,
    fields: String,
    requester_id: i64,
    source: TicketSource,
    external: Option<ExternalRef>,
}

/// The reference a sender gave its ticket, and the key a repeated submission finds it by.
/// References are the sender's own numbering, so they are kept per sender (migration 0011).
#[derive(Debug, Clone)]
struct ExternalRef {
    reference: String,
    /// `<sender>/<reference>`.
    key: String,
}

impl ExternalRef {
    fn new(sender: &str, reference: String) -> Self {
        let key = format!("{sender}/{reference}");
        Self { reference, key }
    }

    /// The key of the same reference received before references were kept per sender: those
    /// tickets answer a repeat from any sender (with a receipt only, see [`submit_external`]).
    fn legacy_key(&self) -> String {
        format!("legacy/{}", self.reference)
    }
}

impl Submission {
    fn reference_ids(&self) -> ReferenceIds {
        ReferenceIds {
            category_id: self.category_id,
            sub_category_id: self.sub_category_id,
            department_id: self.department_id,
        }
    }
}

/// Writes the ticket, its first history entry and its `ticket.created` event on `conn`, which
/// is inside a transaction; an `external_ref` already taken gives the existing ticket's id
/// instead (`false`: nothing was created).
async fn write_ticket(
    conn: &mut Conn<'_>,
    submission: &Submission,
    actor_id: Option<i64>,
) -> Result<(i64, bool)> {
    match check_submission(conn, submission).await? {
        Some(existing) => Ok((existing, false)),
        None => Ok((insert_ticket(conn, submission, actor_id).await?, true)),
    }
}

/// The checks of a submission before anything is written: the existing ticket's id if its
/// `external_ref` was received already, an error if it names unknown reference data.
async fn check_submission(conn: &mut Conn<'_>, submission: &Submission) -> Result<Option<i64>> {
    let mut checked = check_submissions(conn, &[submission]).await?;
    checked.pop().unwrap_or(Ok(None))
}

/// [`check_submission`] for each of `submissions`, in three statements however many: each
/// statement is a round trip to the database, which costs more than the lookups.
async fn check_submissions(
    conn: &mut Conn<'_>,
    submissions: &[&Submission],
) -> Result<Vec<Result<Option<i64>>>> {
    let legacy_keys: Vec<String> = submissions
        .iter()
        .filter_map(|submission| submission.external.as_ref().map(ExternalRef::legacy_key))
        .collect();
    let external_keys: Vec<&str> = submissions
        .iter()
        .filter_map(|submission| submission.external.as_ref().map(|e| e.key.as_str()))
        .chain(legacy_keys.iter().map(String::as_str))
        .collect();
    let received: std::collections::HashMap<String, i64> =
        rows::ids_by_external_key(conn, &external_keys)
            .await?
            .into_iter()
            .collect();
    let named: Vec<ReferenceIds> = submissions
        .iter()
        .map(|submission| submission.reference_ids())
        .collect();
    let references = References::read(conn, &named).await?;
    Ok(submissions
        .iter()
        .zip(named)
        .map(|(submission, named)| {
            let earlier = submission.external.as_ref().and_then(|external| {
                received
                    .get(&external.key)
                    .or_else(|| received.get(&external.legacy_key()))
            });
            match earlier {
                Some(&id) => Ok(Some(id)),
                None => references.check(named).map(|()| None),
            }
        })
        .collect())
}

/// Inserts a checked submission: the ticket, its first history entry, its event; its id.
async fn insert_ticket(
    conn: &mut Conn<'_>,
    submission: &Submission,
    actor_id: Option<i64>,
) -> sqlx::Result<i64> {
    let ids = insert_tickets(conn, &[(submission, actor_id)]).await?;
    ids.first()
        .copied()
        .ok_or_else(|| sqlx::Error::Protocol("the insert returned no ticket id".into()))
}

/// Inserts checked submissions (each with the acting user), their first history entries and
/// their events: three statements however many tickets. Their ids, in order.
async fn insert_tickets(
    conn: &mut Conn<'_>,
    submissions: &[(&Submission, Option<i64>)],
) -> sqlx::Result<Vec<i64>> {
    let now = Utc::now();
    let tickets: Vec<NewTicketRow> = submissions
        .iter()
        .map(|(submission, _)| NewTicketRow {
            subject: &submission.subject,
            description: &submission.description,
            category_id: submission.category_id,
            sub_category_id: submission.sub_category_id,
            department_id: submission.department_id,
            priority: submission.priority.as_str(),
            status: TicketStatus::New.as_str(),
            requester_id: submission.requester_id,
            source: submission.source.as_str(),
            external_ref: submission.external.as_ref().map(|e| e.reference.as_str()),
            external_key: submission.external.as_ref().map(|e| e.key.as_str()),
            fields: &submission.fields,
            now,
        })
        .collect();
    let ids = rows::insert_many(conn, &tickets).await?;
    let created: Vec<NewEvent> = ids
        .iter()
        .zip(submissions)
        .map(|(&id, (_, actor_id))| NewEvent {
            ticket_id: id,
            kind: "created",
            actor_id: *actor_id,
            from_value: None,
            to_value: Some(TicketStatus::New.as_str()),
            note: "",
            is_internal: false,
            now,
        })
        .collect();
    rows::insert_events(conn, &created).await?;
    let events: Vec<OutboxEvent> = ids
        .iter()
        .zip(submissions)
        .map(|(&id, (submission, _))| OutboxEvent {
            event_key: format!("{TICKET_CREATED}:{id}"),
            topic: TICKET_CREATED,
            payload: serde_json::json!({
                "ticket_id": id,
                "number": TicketNumber(id).to_string(),
                "source": submission.source.as_str(),
                "priority": submission.priority.as_str(),
                "category_id": submission.category_id,
                "sub_category_id": submission.sub_category_id,
                "department_id": submission.department_id,
                "requester_id": submission.requester_id,
            })
            .to_string(),
            now,
        })
        .collect();
    outbox::enqueue_many(conn, &events).await?;
    Ok(ids)
}

fn log_created(id: i64, submission: &Submission) {
    tracing::info!(
        ticket_id = id,
        source = submission.source.as_str(),
        "ticket created"
    );
}

/// Most submissions one transaction takes.
const MAX_BATCH: usize = 64;

/// Saves new tickets.
///
/// SQLite has one writer at a time, and a transaction per ticket tops out near 3,400 tickets
/// a second on these machines whatever the concurrency. So one task saves them: it takes every
/// submission waiting (up to [`MAX_BATCH`]) into one transaction, checks them together and
/// inserts the accepted ones together (a refused one writes nothing, and a failed insert
/// sends the batch to one savepoint per submission), and answers each only after the commit.
/// PostgreSQL would run a transaction per submission in parallel, but each costs six round
/// trips and a commit on the same two cores as the server; batched, sixteen submissions cost
/// about as much as one (BENCHMARKS.md, 2026-11-28).
#[derive(Clone)]
pub struct TicketWriter {
    db: Db,
    queue: Option<tokio::sync::mpsc::Sender<WriteJob>>,
    /// Told when a ticket was created, so its `ticket.created` event is taken at once.
    outbox_wake: Option<std::sync::Arc<crate::outbox::OutboxWake>>,
}

struct WriteJob {
    submission: Submission,
    actor_id: Option<i64>,
    answer: tokio::sync::oneshot::Sender<Result<Saved>>,
}

impl TicketWriter {
    /// The writer for `db`; starts the batching task (it ends when the last copy of this
    /// writer is dropped).
    pub fn new(db: Db, outbox_wake: std::sync::Arc<crate::outbox::OutboxWake>) -> Self {
        let (queue, jobs) = tokio::sync::mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(db.clone(), jobs));
        Self {
            db,
            queue: Some(queue),
            outbox_wake: Some(outbox_wake),
        }
    }

    /// A writer with a transaction per ticket on every backend (for one-off tools such as
    /// seeding, where nothing runs concurrently).
    pub fn unbatched(db: Db) -> Self {
        Self {
            db,
            queue: None,
            outbox_wake: None,
        }
    }

    async fn write(&self, submission: Submission, actor_id: Option<i64>) -> Result<Saved> {
        let saved = self.write_now(submission, actor_id).await;
        if let (Ok(Saved { created: true, .. }), Some(wake)) = (&saved, &self.outbox_wake) {
            wake.wrote();
        }
        saved
    }

    async fn write_now(&self, submission: Submission, actor_id: Option<i64>) -> Result<Saved> {
        let Some(queue) = &self.queue else {
            return write_alone(&self.db, submission, actor_id).await;
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = WriteJob {
            submission,
            actor_id,
            answer,
        };
        queue
            .send(job)
            .await
            .map_err(|_| anyhow::anyhow!("the ticket writer has stopped"))?;
        answered
            .await
            .map_err(|_| anyhow::anyhow!("the ticket writer dropped a submission"))?
    }
}

/// A ticket as saved, read back in the transaction that saved it; `created` is false when an
/// external submission was received already and this is the earlier ticket.
pub(crate) struct Saved {
    pub row: TicketRow,
    pub created: bool,
}

/// Reads back the tickets of `written` (ids, and whether each was created) on `conn`, in one
/// statement; each as [`Saved`], errors kept.
async fn read_saved(
    conn: &mut Conn<'_>,
    written: Vec<Result<(i64, bool)>>,
) -> sqlx::Result<Vec<Result<Saved>>> {
    let ids: Vec<i64> = written
        .iter()
        .filter_map(|result| result.as_ref().ok().map(|(id, _)| *id))
        .collect();
    let found: std::collections::HashMap<i64, TicketRow> = rows::find_many(conn, &ids)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    Ok(written
        .into_iter()
        .map(|result| {
            let (id, created) = result?;
            // Cloned: two submissions of a batch may be answered by the same earlier ticket.
            let row = found
                .get(&id)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("ticket {id} not found after saving it"))?;
            Ok(Saved { row, created })
        })
        .collect())
}

/// One transaction for one ticket.
async fn write_alone(db: &Db, submission: Submission, actor_id: Option<i64>) -> Result<Saved> {
    let mut tx = db.begin().await?;
    match write_ticket(&mut tx.conn(), &submission, actor_id).await {
        Ok((id, created)) => {
            let saved = saved(&mut tx.conn(), id, created).await?;
            tx.commit().await?;
            if created {
                log_created(id, &submission);
            }
            Ok(saved)
        }
        Err(err) => {
            let Some(external_key) = raced_external_key(&err, &submission) else {
                return Err(err);
            };
            drop(tx);
            let mut pooled = db.acquire().await?;
            match rows::find_id_by_external_key(&mut pooled.conn(), external_key).await? {
                Some(id) => saved(&mut pooled.conn(), id, false).await,
                None => Err(err),
            }
        }
    }
}

/// The external key another request saved a ticket under at the same time, when `err` is the
/// conflict this submission's insert met (PostgreSQL: the insert waited for the other's
/// commit, which a statement now sees): that ticket is the answer. `None` for other errors.
fn raced_external_key<'a>(err: &crate::Error, submission: &'a Submission) -> Option<&'a str> {
    match err {
        crate::Error::App(refused) if refused.kind == ErrorKind::Conflict => {
            submission.external.as_ref().map(|e| e.key.as_str())
        }
        _ => None,
    }
}

/// Ticket `id` read back as [`Saved`].
async fn saved(conn: &mut Conn<'_>, id: i64, created: bool) -> Result<Saved> {
    let row = rows::find(conn, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("ticket {id} not found after saving it"))?;
    Ok(Saved { row, created })
}

/// The SQLite batching task: see [`TicketWriter`].
async fn write_batches(db: Db, mut jobs: tokio::sync::mpsc::Receiver<WriteJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A submitter that gave up (its client went away) was never told of a ticket.
        batch.retain(|job: &WriteJob| !job.answer.is_closed());
        let results = write_batch(&db, &batch).await;
        for (job, result) in batch.drain(..).zip(results) {
            if let Ok(saved) = &result
                && saved.created
            {
                log_created(saved.row.id, &job.submission);
            }
            let _ = job.answer.send(result);
        }
    }
}

/// Writes `batch` in one transaction; each submission's result, all failed if the
/// transaction could not be committed.
///
/// Each submission is checked (reads only: a refused one has written nothing), then every
/// accepted one is inserted by the same three statements (tickets, history, outbox): each
/// statement is a round trip to the connection's thread, which costs more than the insert.
/// Only an insert failing after the checks passed (two submissions of the batch with the
/// same external reference) sends the batch to [`write_batch_guarded`], one savepoint each.
async fn write_batch(db: &Db, batch: &[WriteJob]) -> Vec<Result<Saved>> {
    if batch.is_empty() {
        return Vec::new();
    }
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(err) => return failed_all(batch, &err),
    };
    // Checked together (a refused one has written nothing), the accepted ones inserted together.
    let submissions: Vec<&Submission> = batch.iter().map(|job| &job.submission).collect();
    let checked = match check_submissions(&mut tx.conn(), &submissions).await {
        Ok(checked) => checked,
        Err(err) => return failed_all(batch, &err),
    };
    let mut results = Vec::with_capacity(batch.len());
    let mut ready = Vec::with_capacity(batch.len());
    for (index, (job, check)) in batch.iter().zip(checked).enumerate() {
        match check {
            Ok(Some(existing)) => results.push(Ok((existing, false))),
            Ok(None) => {
                results.push(Ok((0, true)));
                ready.push((index, (&job.submission, job.actor_id)));
            }
            Err(err) => results.push(Err(err)),
        }
    }
    let submissions: Vec<_> = ready.iter().map(|(_, submission)| *submission).collect();
    match insert_tickets(&mut tx.conn(), &submissions).await {
        Ok(ids) => {
            for ((index, _), id) in ready.iter().zip(ids) {
                results[*index] = Ok((id, true));
            }
        }
        Err(err) => {
            // Two submissions of the batch with the same external reference, or a
            // constraint the checks do not know: save them one by one.
            tracing::warn!(error = %err, "a batch of checked tickets failed to insert; saving them one by one");
            drop(tx);
            return write_batch_guarded(db, batch).await;
        }
    }
    commit_batch(tx, batch, results).await
}

/// Reads back what the batch saved and commits; each submission's result.
async fn commit_batch(
    mut tx: crate::db::Tx,
    batch: &[WriteJob],
    written: Vec<Result<(i64, bool)>>,
) -> Vec<Result<Saved>> {
    let saved = match read_saved(&mut tx.conn(), written).await {
        Ok(saved) => saved,
        Err(err) => return failed_all(batch, &err),
    };
    match tx.commit().await {
        Ok(()) => saved,
        Err(err) => failed_all(batch, &err),
    }
}

/// Every submission of `batch` failed, with `err` logged.
fn failed_all(batch: &[WriteJob], err: &dyn std::fmt::Display) -> Vec<Result<Saved>> {
    tracing::error!(error = %err, tickets = batch.len(), "a batch of tickets was not saved");
    batch
        .iter()
        .map(|_| Err(AppError::internal().into()))
        .collect()
}

/// [`write_batch`] with each ticket in its own savepoint, so one whose insert fails is undone
/// alone.
async fn write_batch_guarded(db: &Db, batch: &[WriteJob]) -> Vec<Result<Saved>> {
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(err) => return failed_all(batch, &err),
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let outcome = async {
            crate::db::execute_plain(&mut tx.conn(), "SAVEPOINT ticket").await?;
            match write_ticket(&mut tx.conn(), &job.submission, job.actor_id).await {
                Ok(written) => {
                    crate::db::execute_plain(&mut tx.conn(), "RELEASE ticket").await?;
                    Ok(Ok(written))
                }
                Err(err) => {
                    crate::db::execute_plain(&mut tx.conn(), "ROLLBACK TO ticket").await?;
                    crate::db::execute_plain(&mut tx.conn(), "RELEASE ticket").await?;
                    if let Some(external_key) = raced_external_key(&err, &job.submission)
                        && let Some(id) =
                            rows::find_id_by_external_key(&mut tx.conn(), external_key).await?
                    {
                        return Ok(Ok((id, false)));
                    }
                    Ok::<_, sqlx::Error>(Err(err))
                }
            }
        }
        .await;
        match outcome {
            Ok(result) => results.push(result),
            // The transaction itself is broken: nothing of the batch stays.
            Err(err) => return failed_all(batch, &err),
        }
    }
    commit_batch(tx, batch, results).await
}

/// Submits a ticket as the signed-in user (the portal, or REST with a user's token).
pub async fn create(
    services: &crate::Services,
    principal: &Principal,
    input: NewTicket,
    source: TicketSource,
) -> Result<Ticket> {
    authorize(principal, Permission::SubmitTickets)?;
    let Some(user) = principal.user() else {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "API keys submit tickets through POST /api/v1/tickets/send/.",
        )
        .into());
    };
    // The requester always sees their own ticket: no visibility rule to check.
    let saved = submit_for(services.ticket_writer(), user.user.id, input, source).await?;
    Ok(ticket(saved.row))
}

/// Submits a ticket on behalf of `requester_id` (after the caller was authorized, or for
/// demo data).
pub(crate) async fn submit_for(
    writer: &TicketWriter,
    requester_id: i64,
    input: NewTicket,
    source: TicketSource,
) -> Result<Saved> {
    let submission = Submission {
        subject: check_subject(&input.subject)?,
        description: check_description(&input.description)?,
        category_id: input.category_id,
        sub_category_id: input.sub_category_id,
        department_id: input.department_id,
        priority: input.priority,
        fields: check_fields(input.fields)?,
        requester_id,
        source,
        external: None,
    };
    writer.write(submission, Some(requester_id)).await
}

/// Takes a ticket from another system (`POST /api/v1/tickets/send/`, the HDTS queue):
/// idempotent on the sender's own ticket id. Returns a receipt and whether it was new.
///
/// Integrations and admins only (`SubmitExternalTickets`): the caller names the requester.
/// References are kept per sender ([`Principal::external_sender`]). Names of category,
/// sub-category, department and priority are matched ignoring letter case; a name TTS does not
/// know (or has retired) is kept in the ticket's fields under [`UNKNOWN_NAMES_FIELD`] and the
/// ticket waits in triage for an admin, so an employee's request is never lost for a name.
pub async fn submit_external(
    services: &crate::Services,
    principal: &Principal,
    input: ExternalTicket,
    source: TicketSource,
) -> Result<(TicketReceipt, bool)> {
    authorize(principal, Permission::SubmitExternalTickets)?;
    let db = services.db();
    let reference = match &input.ticket_id {
        serde_json::Value::String(s) => s.trim().to_owned(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if reference.is_empty() || reference.chars().count() > MAX_EXTERNAL_REF {
        return Err(AppError::invalid_field(
            "ticket_id",
            format!("must be a number or a text of 1 to {MAX_EXTERNAL_REF} characters"),
        )
        .into());
    }
    let subject = check_subject(&input.subject)?;
    let description = check_description(&input.description)?;
    let mut unknown = std::collections::BTreeMap::new();
    let priority = match nonblank(&input.priority) {
        None => Priority::Medium,
        Some(name) => name.parse::<Priority>().unwrap_or_else(|_| {
            unknown.insert("priority".to_owned(), name.to_owned());
            Priority::Medium
        }),
    };
    let (category_id, sub_category_id, department_id) = {
        let mut pooled = db.acquire().await?;
        let conn = &mut pooled.conn();
        let category = nonblank(&input.category);
        let category_id = match category {
            Some(name) => rows::active_category_named(conn, None, name).await?,
            None => None,
        };
        // A sub-category is looked for under its category only: under an unknown category it
        // is unknown too.
        let sub_category = nonblank(&input.sub_category);
        let sub_category_id = match (sub_category, category_id) {
            (Some(name), Some(parent)) => {
                rows::active_category_named(conn, Some(parent), name).await?
            }
            _ => None,
        };
        let department = nonblank(&input.department);
        let department_id = match department {
            Some(name) => rows::active_department_named(conn, name).await?,
            None => None,
        };
        for (field, name, found) in [
            ("category", category, category_id),
            ("sub_category", sub_category, sub_category_id),
            ("department", department, department_id),
        ] {
            if let (Some(name), None) = (name, found) {
                unknown.insert(field.to_owned(), name.to_owned());
            }
        }
        (category_id, sub_category_id, department_id)
    };
    let employee = input
        .employee
        .as_ref()
        .ok_or_else(|| AppError::invalid_field("employee", "is required (with an email)"))?;
    let requester_id =
        crate::users::find_or_create_requester(db, &employee.email, &employee_name(employee))
            .await?;
    let mut fields = input.extra.clone();
    if !employee.extra.is_empty() {
        fields.insert(
            "employee".into(),
            serde_json::Value::Object(employee.extra.clone()),
        );
    }
    if !unknown.is_empty() {
        fields.insert(UNKNOWN_NAMES_FIELD.into(), serde_json::json!(unknown));
    }
    let submission = Submission {
        subject,
        description,
        category_id,
        sub_category_id,
        department_id,
        priority,
        fields: check_fields(serde_json::Value::Object(fields))?,
        requester_id,
        source,
        external: Some(ExternalRef::new(&principal.external_sender(), reference)),
    };
    let saved = services.ticket_writer().write(submission, None).await?;
    if !unknown.is_empty() && saved.created {
        tracing::warn!(
            ticket = saved.row.id,
            ?unknown,
            "ticket received with names TTS does not know: waiting in triage"
        );
    }
    Ok((receipt(saved.row), saved.created))
}

/// What the sender of an external ticket is told of it.
fn receipt(row: TicketRow) -> TicketReceipt {
    let unknown_names = serde_json::from_str::<serde_json::Value>(&row.fields)
        .ok()
        .and_then(|fields| serde_json::from_value(fields.get(UNKNOWN_NAMES_FIELD)?.clone()).ok())
        .unwrap_or_default();
    TicketReceipt {
        id: row.id,
        number: TicketNumber(row.id).to_string(),
        external_ref: row.external_ref.unwrap_or_default(),
        status: row.status.parse().unwrap_or(TicketStatus::New),
        created_at: row.created_at,
        unknown_names,
    }
}

fn nonblank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn employee_name(employee: &ExternalEmployee) -> String {
    if let Some(name) = nonblank(&employee.name) {
        return name.to_owned();
    }
    let joined = [&employee.first_name, &employee.last_name]
        .iter()
        .filter_map(|part| nonblank(part))
        .collect::<Vec<_>>()
        .join(" ");
    if joined.is_empty() {
        employee
            .email
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        joined
    }
}

/// Loads the ticket if the caller may see it; a ticket outside their visibility is a 404
/// like one that does not exist, so existence does not leak.
pub async fn get(db: &Db, principal: &Principal, id: i64) -> Result<Ticket> {
    let scope = scope_of(db, principal).await?;
    let mut pooled = db.acquire().await?;
    let row = rows::find(&mut pooled.conn(), id).await?;
    let member_of = match scope {
        TicketScope::Departments { user_id } => {
            rows::department_ids_of(&mut pooled.conn(), user_id).await?
        }
        _ => Vec::new(),
    };
    match row {
        Some(row)
            if scope.includes(
                row.requester_id,
                row.assignee_id,
                row.department_id,
                &member_of,
            ) =>
        {
            Ok(ticket(row))
        }
        Some(row) => match scope {
            TicketScope::Departments { user_id }
                if crate::db::tasks::works_on(&mut pooled.conn(), row.id, user_id).await? =>
            {
                Ok(ticket(row))
            }
            _ => Err(AppError::not_found("Ticket").into()),
        },
        None => Err(AppError::not_found("Ticket").into()),
    }
}

/// The caller's visible tickets matching `query`: filtered, searched, ordered, one page.
pub async fn list(
    db: &Db,
    principal: &Principal,
    query: &TicketQuery,
) -> Result<Page<TicketSummary>> {
    let scope = scope_of(db, principal).await?;
    let internal_notes = crate::comments::sees_internal(principal);
    let search_reach = rows::SearchReach {
        internal_notes,
        newest_only: matches!(scope, TicketScope::All) && internal_notes,
    };
    let mut pooled = db.acquire().await?;
    let mut conditions = Vec::new();
    let mut args = Vec::new();
    let arg = |args: &mut Vec<Arg>, value: Arg| {
        args.push(value);
        format!("${}", args.len())
    };
    match scope {
        TicketScope::All => {}
        TicketScope::Own { user_id } => {
            let p = arg(&mut args, Arg::Int(user_id));
            conditions.push(format!("t.requester_id = {p}"));
        }
        TicketScope::Departments { user_id } => {
            let p = arg(&mut args, Arg::Int(user_id));
            conditions.push(format!(
                "(t.requester_id = {p} OR t.assignee_id = {p} OR t.department_id IN \
                 (SELECT department_id FROM department_members WHERE user_id = {p}) OR {})",
                crate::db::tasks::works_on_sql("t.id", &p)
            ));
        }
    }
    if !query.status.is_empty() {
        let list: Vec<String> = query
            .status
            .iter()
            .map(|s| arg(&mut args, Arg::Text(s.as_str().into())))
            .collect();
        conditions.push(format!("t.status IN ({})", list.join(", ")));
    }
    if !query.priority.is_empty() {
        let list: Vec<String> = query
            .priority
            .iter()
            .map(|p| arg(&mut args, Arg::Text(p.as_str().into())))
            .collect();
        conditions.push(format!("t.priority IN ({})", list.join(", ")));
    }
    if let Some(category) = query.category {
        let p = arg(&mut args, Arg::Int(category));
        conditions.push(format!("(t.category_id = {p} OR t.sub_category_id = {p})"));
    }
    if let Some(department) = query.department {
        let p = arg(&mut args, Arg::Int(department));
        conditions.push(format!("t.department_id = {p}"));
    }
    if let Some(requester) = query.requester {
        let p = arg(&mut args, Arg::Int(requester));
        conditions.push(format!("t.requester_id = {p}"));
    }
    match query.assignee {
        None => {}
        Some(0) => conditions.push("t.assignee_id IS NULL".into()),
        Some(assignee) => {
            let p = arg(&mut args, Arg::Int(assignee));
            conditions.push(format!("t.assignee_id = {p}"));
        }
    }
    if let Some(external_ref) = &query.external_ref {
        let p = arg(&mut args, Arg::Text(external_ref.clone()));
        conditions.push(format!("t.external_ref = {p}"));
    }
    let mut searched_words = None;
    if let Some(q) = query.search() {
        if let Some(number) = TicketNumber::parse(q) {
            // A ticket number finds that ticket.
            let p = arg(&mut args, Arg::Int(number.0));
            conditions.push(format!("t.id = {p}"));
        } else {
            let words = typed_words(q);
            if words.is_empty() {
                // Nothing searchable in it (only punctuation): nothing matches.
                return Ok(Page {
                    count: 0,
                    count_capped: false,
                    results: Vec::new(),
                });
            }
            searched_words = Some(words);
        }
    }
    let ordering = query.effective_ordering();
    let order = match (ordering, searched_words.is_some()) {
        // The words are set once the search knows which it used.
        (TicketOrdering::Relevance, true) => ListOrder::SubjectHits(Vec::new()),
        (TicketOrdering::Relevance | TicketOrdering::CreatedDesc, _) => {
            ListOrder::Ids { newest_first: true }
        }
        (TicketOrdering::CreatedAsc, _) => ListOrder::Ids {
            newest_first: false,
        },
        (TicketOrdering::UpdatedDesc, _) => ListOrder::By("t.updated_at DESC, t.id DESC"),
        (TicketOrdering::UpdatedAsc, _) => ListOrder::By("t.updated_at, t.id"),
        (TicketOrdering::PriorityDesc, _) => ListOrder::By(PRIORITY_DESC),
        (TicketOrdering::PriorityAsc, _) => ListOrder::By(PRIORITY_ASC),
    };
    let (page, size) = query.paging();
    let mut list_query = ListQuery {
        conditions,
        args,
        search: None,
        search_reach,
        order,
        limit: i64::from(size),
        offset: i64::from(page - 1) * i64::from(size),
    };
    // Counting stops COUNT_AHEAD rows past the page (an exact count of a broad filter at
    // 100,000 tickets costs more than the page).
    let bound = list_query.offset + i64::from(size) + domain::COUNT_AHEAD;
    let (found, count_capped) = match &searched_words {
        None => {
            let (count, capped) = rows::count(&mut pooled.conn(), &list_query, bound).await?;
            (Found { count, page: None }, capped)
        }
        // A search over every ticket ranks and counts only its newest candidates.
        Some(words) => {
            let found = search(&mut pooled.conn(), &mut list_query, words, bound).await?;
            let cap = if search_reach.newest_only {
                rows::SEARCH_CANDIDATES
            } else {
                bound
            };
            let capped = found.count >= cap;
            (found, capped)
        }
    };
    let page = match found.page {
        Some(page) => page,
        None if list_query.offset < found.count => {
            rows::list(&mut pooled.conn(), &list_query).await?
        }
        None => Vec::new(),
    };
    let mut results: Vec<TicketSummary> = page.into_iter().map(summary).collect();
    with_steps(&mut pooled.conn(), &mut results).await?;
    Ok(Page {
        count: found.count,
        count_capped,
        results,
    })
}

/// Fills in where each listed ticket's workflow is (the step's name), reading each workflow
/// version once.
async fn with_steps(conn: &mut Conn<'_>, tickets: &mut [TicketSummary]) -> Result<()> {
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let tasks = task_rows::steps_of(conn, &ids).await?;
    let mut versions = std::collections::HashMap::new();
    for &(_, version_id, _) in &tasks {
        if let std::collections::hash_map::Entry::Vacant(slot) = versions.entry(version_id) {
            slot.insert(crate::db::workflows::find_version(conn, version_id).await?);
        }
    }
    let steps: std::collections::HashMap<i64, String> = tasks
        .into_iter()
        .filter_map(|(ticket_id, version_id, step_id)| {
            let version = versions.get(&version_id)?.as_ref()?;
            let step = version.graph.0.step(domain::workflow::StepId(step_id))?;
            Some((ticket_id, step.name.clone()))
        })
        .collect();
    for ticket in tickets {
        ticket.step = steps.get(&ticket.id).cloned();
    }
    Ok(())
}

const PRIORITY_DESC: &str = "CASE t.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 \
     WHEN 'medium' THEN 2 ELSE 1 END DESC, t.id DESC";
const PRIORITY_ASC: &str = "CASE t.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 \
     WHEN 'medium' THEN 2 ELSE 1 END, t.id DESC";

/// Accented letters and what they fold to for PostgreSQL search: the same two strings as
/// the `translate` in the PostgreSQL migration's `search_vector` (SQLite's FTS5
/// `remove_diacritics` folds by itself).
const ACCENTED: &str = "àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőŕřśšşťùúûüūůűųýÿźżž";
const UNACCENTED: &str = "aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrssstuuuuuuuuyyzzz";

fn fold_accents(word: &str) -> String {
    word.chars()
        .map(|c| match ACCENTED.chars().position(|a| a == c) {
            Some(i) => UNACCENTED.chars().nth(i).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// Most words a search uses.
const MAX_SEARCH_WORDS: usize = 8;

/// The words of what someone typed into the search box: letters and digits, lowercased;
/// everything else, including every operator and quote, only separates words.
fn typed_words(typed: &str) -> Vec<String> {
    let typed: String = typed.chars().take(domain::tickets::MAX_QUERY).collect();
    typed
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_SEARCH_WORDS)
        .map(str::to_lowercase)
        .collect()
}

/// What a list found: how many tickets, and its page when the count came with it.
struct Found {
    count: i64,
    page: Option<Vec<rows::SummaryRow>>,
}

/// What a search finds (within its candidates), with `query`'s search and relevance words
/// set to those that found it:
///
/// 1. the words as typed, as whole words: when they fill the candidates, they are what was
///    meant (a prefix search of a common word reads every match of every word it begins, in
///    any order, before it can take the newest: four times the cost);
/// 2. otherwise as prefixes, as you type (`prin` finds *printer*), which finds the whole
///    words' matches too;
/// 3. nothing found: perhaps a typing mistake; the closest indexed words, as prefixes.
async fn search(
    conn: &mut Conn<'_>,
    query: &mut ListQuery,
    words: &[String],
    bound: i64,
) -> Result<Found> {
    let backend = conn.backend();
    rank_by(query, words);
    let whole = expression_for(backend, words, Matching::WholeWords).map(FullTextMatch::everywhere);
    query.search = whole.clone();
    // Its page is wanted only if the whole words fill the candidates.
    let mut found = search_stage(conn, query, bound, rows::SEARCH_CANDIDATES).await?;
    if found.count < rows::SEARCH_CANDIDATES {
        let prefixes = prefix_match(conn, words).await?;
        if prefixes != whole {
            query.search = prefixes;
            found = search_stage(conn, query, bound, 0).await?;
        }
    }
    if found.count == 0
        && let Some(corrected) = corrected_words(conn, words).await?
    {
        query.search = prefix_match(conn, &corrected).await?;
        rank_by(query, &corrected);
        found = search_stage(conn, query, bound, 0).await?;
    }
    Ok(found)
}

/// Ranks a search's page by these words in the subject (see [`ListOrder::SubjectHits`]).
fn rank_by(query: &mut ListQuery, words: &[String]) {
    if let ListOrder::SubjectHits(rank_words) = &mut query.order {
        *rank_words = words.to_vec();
    }
}

/// What `query`'s search finds as it stands; the page may be left out when fewer than
/// `page_from` match. A search of the newest candidates is counted with its page, in one
/// statement ([`rows::list_counted`]): both read the same candidates, and PostgreSQL plans
/// each search statement anew (the match expression decides the plan). A narrower search
/// joins every match with what the caller may see, so its count is bounded apart.
async fn search_stage(
    conn: &mut Conn<'_>,
    query: &ListQuery,
    bound: i64,
    page_from: i64,
) -> Result<Found> {
    if query.search_reach.newest_only {
        let (page, matched) = rows::list_counted(conn, query, page_from).await?;
        let count = match matched {
            Some(count) => count,
            // An empty page: nothing matched, or the page lies past the matches.
            None if query.offset == 0 => 0,
            None => rows::count(conn, query, bound).await?.0,
        };
        return Ok(Found { count, page });
    }
    let (count, _) = rows::count(conn, query, bound).await?;
    Ok(Found { count, page: None })
}

/// How the words of a search match indexed words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matching {
    /// Each word whole.
    WholeWords,
    /// Each word as the beginning of a word, once it has 2 letters, and the last one always
    /// (a typed word is often unfinished).
    Prefixes,
}

/// Turns what someone typed into the search box into a full-text match expression: the
/// words, all required, as prefixes (as you type). `None` when nothing is left to search for.
pub fn match_expression(backend: Backend, typed: &str) -> Option<String> {
    expression_for(backend, &typed_words(typed), Matching::Prefixes)
}

fn expression_for(backend: Backend, words: &[String], matching: Matching) -> Option<String> {
    let last = words.len().checked_sub(1)?;
    let terms: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let prefix = matching == Matching::Prefixes && searched_as_prefix(i, last, word);
            match (backend, prefix) {
                (Backend::Sqlite, true) => format!("\"{word}\"*"),
                (Backend::Sqlite, false) => format!("\"{word}\""),
                (Backend::Postgres, true) => format!("{}:*", fold_accents(word)),
                (Backend::Postgres, false) => fold_accents(word),
            }
        })
        .collect();
    Some(match backend {
        Backend::Sqlite => terms.join(" "),
        Backend::Postgres => terms.join(" & "),
    })
}

/// Whether the `i`th of words ending at `last` is searched as a prefix
/// ([`Matching::Prefixes`]).
fn searched_as_prefix(i: usize, last: usize, word: &str) -> bool {
    i == last || word.chars().count() >= 2
}

/// Most words a prefix is searched as on PostgreSQL (see [`prefix_match`]).
const MAX_PREFIX_WORDS: usize = 32;

/// `words` as prefixes ([`Matching::Prefixes`]). On PostgreSQL, tickets are searched for
/// each prefix as the indexed words it begins when they are few (`prin` becomes
/// `(print | printer | printing)`): the planner knows from its statistics how common each
/// whole word is and chooses between the GIN index and walking the newest tickets by it,
/// while a prefix it always guesses at 2 % of the rows (`db::tickets::search_join`). A
/// prefix that begins more than [`MAX_PREFIX_WORDS`] words, or none, or a word that is not
/// plain letters and digits (which `to_tsquery` would parse again), stays a prefix; so do
/// comments' (the vocabulary holds tickets' words only).
async fn prefix_match(conn: &mut Conn<'_>, words: &[String]) -> Result<Option<FullTextMatch>> {
    let backend = conn.backend();
    let Some(prefixes) = expression_for(backend, words, Matching::Prefixes) else {
        return Ok(None);
    };
    if backend == Backend::Sqlite {
        return Ok(Some(FullTextMatch::everywhere(prefixes)));
    }
    let last = words.len() - 1;
    let mut terms = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let word = fold_accents(word);
        if !searched_as_prefix(i, last, &word) {
            terms.push(word);
            continue;
        }
        let begun =
            rows::postgres_words_starting_with(conn, &word, MAX_PREFIX_WORDS as i64 + 1).await?;
        let plain = begun.iter().all(|w| w.chars().all(char::is_alphanumeric));
        terms.push(
            if begun.is_empty() || begun.len() > MAX_PREFIX_WORDS || !plain {
                format!("{word}:*")
            } else {
                format!("({})", begun.join(" | "))
            },
        );
    }
    Ok(Some(FullTextMatch {
        tickets: terms.join(" & "),
        comments: prefixes,
    }))
}

/// How many typing mistakes a word of `len` letters may hold and still be corrected: none
/// in short words (too many words are one letter apart), one up to 7 letters, then two.
fn typos_allowed(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// When a search finds nothing: the same words with each word that starts no indexed word
/// replaced by the closest indexed word (Damerau–Levenshtein, same first letter, within
/// [`typos_allowed`]; the last word is compared with the start of longer words too, as it
/// may be unfinished). `None` when no word could be corrected.
async fn corrected_words(conn: &mut Conn<'_>, words: &[String]) -> Result<Option<Vec<String>>> {
    let mut corrected = Vec::with_capacity(words.len());
    let mut changed = false;
    for (i, word) in words.iter().enumerate() {
        let word = fold_accents(word);
        let len = word.chars().count();
        let typos = typos_allowed(len);
        let Some(first) = word.chars().next() else {
            continue;
        };
        if typos == 0 || rows::has_word_starting_with(conn, &word).await? {
            corrected.push(word);
            continue;
        }
        let unfinished = i + 1 == words.len();
        let longest = if unfinished { 64 } else { len + typos };
        let candidates =
            rows::indexed_words(conn, first, (len - typos) as i64, longest as i64).await?;
        let closest = candidates
            .into_iter()
            .filter_map(|candidate| {
                let mut distance = strsim::damerau_levenshtein(&word, &candidate);
                if unfinished {
                    let start: String = candidate.chars().take(len).collect();
                    distance = distance.min(strsim::damerau_levenshtein(&word, &start));
                }
                (distance <= typos).then_some((distance, candidate))
            })
            .min_by_key(|(distance, candidate)| (*distance, candidate.chars().count()));
        match closest {
            Some((_, candidate)) => {
                corrected.push(candidate);
                changed = true;
            }
            None => corrected.push(word),
        }
    }
    Ok(changed.then_some(corrected))
}

/// Changes a ticket's fields or assignee (agents and admins, within their visibility). Each
/// change is recorded in the history.
pub async fn update(
    db: &Db,
    principal: &Principal,
    id: i64,
    changes: TicketUpdate,
) -> Result<Ticket> {
    authorize(principal, Permission::WorkTickets)?;
    let current = get(db, principal, id).await?;
    let actor_id = principal.user().map(|u| u.user.id);
    let subject = match &changes.subject {
        Some(s) => check_subject(s)?,
        None => current.subject.clone(),
    };
    let description = match &changes.description {
        Some(d) => check_description(d)?,
        None => current.description.clone(),
    };
    let id_of = |r: &Option<NamedRef>| r.as_ref().map(|r| r.id);
    let category_id = changes.category_id.unwrap_or(id_of(&current.category));
    let sub_category_id = match changes.sub_category_id {
        Some(v) => v,
        // A new category drops a sub-category that belonged to the old one.
        None if changes.category_id.is_some() => None,
        None => id_of(&current.sub_category),
    };
    let department_id = changes.department_id.unwrap_or(id_of(&current.department));
    let priority = changes.priority.unwrap_or(current.priority);
    let assignee_id = match changes.assignee_id {
        Some(0) => None,
        Some(user_id) => Some(user_id),
        None => current.assignee.as_ref().map(|a| a.id),
    };
    let now = Utc::now();
    let mut tx = db.begin().await?;
    check_references(&mut tx.conn(), category_id, sub_category_id, department_id).await?;
    if let Some(user_id) = assignee_id
        && Some(user_id) != current.assignee.as_ref().map(|a| a.id)
    {
        let assignable = crate::db::users::find_by_id(&mut tx.conn(), user_id)
            .await?
            .filter(|u| u.is_active);
        let grants = crate::db::users::grants(&mut tx.conn(), user_id).await?;
        let is_agent = grants
            .iter()
            .any(|g| g.system == domain::System::Tts && g.role >= domain::SystemRole::Agent);
        if assignable.is_none() || !is_agent {
            return Err(AppError::invalid_field("assignee_id", "is not an active agent").into());
        }
    }
    rows::update(
        &mut tx.conn(),
        id,
        &rows::TicketChanges {
            subject: &subject,
            description: &description,
            category_id,
            sub_category_id,
            department_id,
            priority: priority.as_str(),
            assignee_id,
            now,
        },
    )
    .await?;
    let mut record = async |kind: &str, from: Option<String>, to: Option<String>| {
        rows::insert_event(
            &mut tx.conn(),
            &NewEvent {
                ticket_id: id,
                kind,
                actor_id,
                from_value: from.as_deref(),
                to_value: to.as_deref(),
                note: "",
                is_internal: false,
                now,
            },
        )
        .await
    };
    if priority != current.priority {
        record(
            "priority",
            Some(current.priority.as_str().into()),
            Some(priority.as_str().into()),
        )
        .await?;
    }
    if assignee_id != current.assignee.as_ref().map(|a| a.id) {
        record(
            "assigned",
            current.assignee.as_ref().map(|a| a.full_name.clone()),
            assignee_id.map(|id| id.to_string()),
        )
        .await?;
    }
    if subject != current.subject
        || description != current.description
        || category_id != id_of(&current.category)
        || sub_category_id != id_of(&current.sub_category)
        || department_id != id_of(&current.department)
    {
        record("updated", None, None).await?;
    }
    crate::audit::record(
        &mut tx.conn(),
        crate::audit::Actor::Principal(principal),
        "ticket.updated",
        "ticket",
        Some(id),
        Some(serde_json::json!({
            "subject": current.subject, "category_id": id_of(&current.category),
            "sub_category_id": id_of(&current.sub_category),
            "department_id": id_of(&current.department), "priority": current.priority,
            "assignee_id": current.assignee.as_ref().map(|a| a.id),
        })),
        Some(serde_json::json!({
            "subject": subject, "category_id": category_id, "sub_category_id": sub_category_id,
            "department_id": department_id, "priority": priority, "assignee_id": assignee_id,
        })),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, principal, id).await
}

/// Moves a ticket to another status (agents and admins), recording who, when and why, by the
/// rule of [`domain::tickets::status_move`]: while a workflow runs it sets the status, and
/// resolving or closing the ticket ends it only when `end_workflow` confirms so; a done ticket
/// opened again resumes its workflow. Two changes racing: the second is refused with 409
/// rather than silently applied on top.
pub async fn change_status(
    db: &Db,
    principal: &Principal,
    id: i64,
    change: StatusChange,
) -> Result<Ticket> {
    authorize(principal, Permission::WorkTickets)?;
    let current = get(db, principal, id).await?;
    let note = check_status_note(&change.note)?;
    if current.status == change.status {
        return Ok(current);
    }
    let note = Note {
        text: note,
        internal: change.note_internal && !note.is_empty(),
    };
    set_status_by_hand(
        db,
        principal,
        &current,
        change.status,
        note,
        change.end_workflow,
    )
    .await?;
    get(db, principal, id).await
}

/// The requester's "still broken": a resolved ticket opens again, its workflow resumes, and
/// whoever gets it back reads why. Staff may also reopen closed tickets this way; a requester
/// whose ticket is closed submits a new one.
pub async fn reopen(
    db: &Db,
    principal: &Principal,
    id: i64,
    request: ReopenRequest,
) -> Result<Ticket> {
    authorize(principal, Permission::ReopenOwnTickets)?;
    let current = get(db, principal, id).await?;
    let staff = authorize(principal, Permission::WorkTickets).is_ok();
    if !staff && principal.user().map(|u| u.user.id) != Some(current.requester.id) {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "Only the ticket's requester reopens it this way; staff change its status.",
        )
        .into());
    }
    let note = check_status_note(&request.note)?;
    if note.is_empty() {
        return Err(AppError::invalid_field("note", "say what is still wrong").into());
    }
    match current.status {
        TicketStatus::Resolved => {}
        TicketStatus::Closed if staff => {}
        TicketStatus::Closed => {
            return Err(AppError::conflict(format!(
                "{} is closed: submit a new ticket and mention it.",
                current.number
            ))
            .into());
        }
        _ => {
            return Err(AppError::conflict(
                "This ticket is not resolved: it is still being worked on.",
            )
            .into());
        }
    }
    // The requester's own words: everyone on the ticket reads them.
    let note = Note {
        text: note,
        internal: false,
    };
    set_status_by_hand(db, principal, &current, TicketStatus::Open, note, false).await?;
    get(db, principal, id).await
}

fn check_status_note(note: &str) -> Result<&str> {
    let note = note.trim();
    if note.chars().count() > MAX_STATUS_NOTE {
        return Err(AppError::invalid_field(
            "note",
            format!("must be at most {MAX_STATUS_NOTE} characters"),
        )
        .into());
    }
    Ok(note)
}

/// What a person wrote with a change, and whether it is for staff only.
#[derive(Clone, Copy)]
struct Note<'a> {
    text: &'a str,
    internal: bool,
}

/// A status change by a person, with what it does to the ticket's workflow, in one
/// transaction: the status and its history event, ending or resuming the task, the outbox
/// event and the audit.
async fn set_status_by_hand(
    db: &Db,
    principal: &Principal,
    current: &Ticket,
    to: TicketStatus,
    note: Note<'_>,
    confirmed: bool,
) -> Result<()> {
    let id = current.id;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let task = task_rows::find_by_ticket(&mut tx.conn(), id).await?;
    let workflow = match task.as_ref().map(|t| t.status.parse::<TaskStatus>()) {
        None => WorkflowState::None,
        Some(Ok(TaskStatus::Open)) => WorkflowState::Running,
        Some(_) => WorkflowState::Ended,
    };
    let step = match status_move(current.status, to, workflow, confirmed) {
        Ok(step) => step,
        Err(refusal) => {
            let running = match &task {
                Some(task) => crate::tasks::describe_running(&mut tx.conn(), task).await?,
                None => String::new(),
            };
            return Err(refused_by_workflow(refusal, to, &running).into());
        }
    };
    // A resumed workflow gives the ticket to someone anew: it is open, whatever was asked.
    let to = if step == StatusMove::ResumesWorkflow {
        TicketStatus::Open
    } else {
        to
    };
    let resolved_at = if to.is_done() {
        Some(current.resolved_at.unwrap_or(now))
    } else {
        None
    };
    let changed = rows::set_status(
        &mut tx.conn(),
        id,
        current.status.as_str(),
        to.as_str(),
        resolved_at,
        now,
    )
    .await?;
    if !changed {
        return Err(AppError::conflict(
            "Someone changed this ticket's status meanwhile. Reload it and try again.",
        )
        .into());
    }
    rows::insert_event(
        &mut tx.conn(),
        &NewEvent {
            ticket_id: id,
            kind: "status",
            actor_id: principal.user().map(|u| u.user.id),
            from_value: Some(current.status.as_str()),
            to_value: Some(to.as_str()),
            note: note.text,
            is_internal: note.internal,
            now,
        },
    )
    .await?;
    match (step, &task) {
        (StatusMove::EndsWorkflow, Some(task)) => {
            crate::tasks::end_by_hand(
                &mut tx.conn(),
                task,
                to,
                principal,
                note.text,
                note.internal,
                now,
            )
            .await?;
        }
        (StatusMove::ResumesWorkflow, Some(task)) => {
            crate::tasks::resume(&mut tx.conn(), task, principal, now).await?;
        }
        _ => {}
    }
    let payload = serde_json::json!({
        "ticket_id": id,
        "from": current.status.as_str(),
        "to": to.as_str(),
        "actor": principal.actor(),
    });
    outbox::enqueue(
        &mut tx.conn(),
        &format!(
            "ticket.status_changed:{id}:{}",
            uuid::Uuid::new_v4().simple()
        ),
        "ticket.status_changed",
        &payload.to_string(),
        now,
    )
    .await?;
    crate::audit::record(
        &mut tx.conn(),
        crate::audit::Actor::Principal(principal),
        "ticket.status_changed",
        "ticket",
        Some(id),
        Some(serde_json::json!({ "status": current.status })),
        Some(
            serde_json::json!({ "status": to, "note": note.text, "note_internal": note.internal }),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The 409 for a status change the running workflow does not allow, saying what runs.
fn refused_by_workflow(refusal: StatusRefusal, to: TicketStatus, running: &str) -> AppError {
    match refusal {
        StatusRefusal::NeedsConfirmation => {
            let mut err = AppError::conflict(format!(
                "{} this ticket ends its workflow ({running}): the task stops, its clocks stop \
                 and it leaves the inbox. Confirm to go ahead.",
                match to {
                    TicketStatus::Closed => "Closing",
                    _ => "Resolving",
                }
            ));
            err.details.insert(
                "end_workflow".into(),
                "must be ticked: resolving or closing here ends the running workflow".into(),
            );
            err
        }
        StatusRefusal::WorkflowSetsStatus => AppError::conflict(format!(
            "While its workflow runs, this ticket's status follows it ({running}). Act on the \
             task to move it on, or resolve or close the ticket to end the workflow."
        )),
    }
}

/// The ticket's history, oldest first, if the caller may see the ticket.
pub async fn history(db: &Db, principal: &Principal, id: i64) -> Result<Vec<TicketEvent>> {
    get(db, principal, id).await?;
    let sees_internal = crate::comments::sees_internal(principal);
    let mut pooled = db.acquire().await?;
    Ok(rows::events(&mut pooled.conn(), id)
        .await?
        .into_iter()
        .map(|e| TicketEvent {
            id: e.id,
            kind: e.kind,
            actor: match (e.actor_id, e.actor_name, e.actor_email) {
                (Some(id), Some(full_name), Some(email)) => Some(PersonRef {
                    id,
                    full_name,
                    email,
                }),
                _ => None,
            },
            from_value: e.from_value,
            to_value: e.to_value,
            note: if e.is_internal && !sees_internal {
                String::new()
            } else {
                e.note
            },
            is_internal: e.is_internal,
            created_at: e.created_at,
        })
        .collect())
}

fn person(id: i64, name: String, email: String) -> PersonRef {
    PersonRef {
        id,
        full_name: name,
        email,
    }
}

fn named(id: Option<i64>, name: Option<String>) -> Option<NamedRef> {
    Some(NamedRef {
        id: id?,
        name: name?,
    })
}

fn ticket(row: TicketRow) -> Ticket {
    Ticket {
        id: row.id,
        number: TicketNumber(row.id).to_string(),
        description_html: markdown::render(&row.description),
        subject: row.subject,
        description: row.description,
        category: named(row.category_id, row.category_name),
        sub_category: named(row.sub_category_id, row.sub_category_name),
        department: named(row.department_id, row.department_name),
        priority: row.priority.parse().unwrap_or(Priority::Medium),
        status: row.status.parse().unwrap_or(TicketStatus::New),
        requester: person(row.requester_id, row.requester_name, row.requester_email),
        assignee: match (row.assignee_id, row.assignee_name, row.assignee_email) {
            (Some(id), Some(name), Some(email)) => Some(person(id, name, email)),
            _ => None,
        },
        source: row.source.parse().unwrap_or(TicketSource::Portal),
        external_ref: row.external_ref,
        fields: serde_json::from_str(&row.fields).unwrap_or_default(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        resolved_at: row.resolved_at,
    }
}

fn summary(row: rows::SummaryRow) -> TicketSummary {
    TicketSummary {
        id: row.id,
        number: TicketNumber(row.id).to_string(),
        subject: row.subject,
        category: row.category_name,
        department: row.department_name,
        priority: row.priority.parse().unwrap_or(Priority::Medium),
        status: row.status.parse().unwrap_or(TicketStatus::New),
        requester: person(row.requester_id, row.requester_name, row.requester_email),
        assignee: match (row.assignee_id, row.assignee_name, row.assignee_email) {
            (Some(id), Some(name), Some(email)) => Some(person(id, name, email)),
            _ => None,
        },
        step: None,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_strings_become_safe_prefix_queries() {
        assert_eq!(
            match_expression(Backend::Sqlite, "Printer jam"),
            Some("\"printer\"* \"jam\"*".into())
        );
        assert_eq!(
            match_expression(Backend::Postgres, "Printer jam"),
            Some("printer:* & jam:*".into())
        );
        // Operators, quotes and column filters only separate words.
        assert_eq!(
            match_expression(Backend::Sqlite, "\"a\" OR subject:b* NEAR(c) -d'"),
            Some("\"a\" \"or\"* \"subject\"* \"b\" \"near\"* \"c\" \"d\"*".into())
        );
        assert_eq!(match_expression(Backend::Postgres, "!&|():*'\""), None);
        assert_eq!(match_expression(Backend::Sqlite, "   "), None);
        assert_eq!(
            match_expression(Backend::Postgres, "Résumé Ça"),
            Some("resume:* & ca:*".into())
        );
        assert_eq!(ACCENTED.chars().count(), UNACCENTED.chars().count());
        let migration = include_str!("../../migrations/postgres/0003_tickets.sql");
        assert!(migration.contains(&format!("'{ACCENTED}', '{UNACCENTED}'")));
        let many = "w ".repeat(50);
        let terms = match_expression(Backend::Sqlite, &many).unwrap();
        assert_eq!(terms.matches('"').count(), MAX_SEARCH_WORDS * 2);
    }
}

/// The batch writer against a real database: a SQLite file, or a fresh schema in the
/// PostgreSQL database named by `TTS_TEST_DATABASE_URL` (the test command's second pass).
#[cfg(test)]
mod batch_tests {
    use super::*;
    use crate::db::DbOptions;

    async fn database() -> (tempfile::TempDir, Db, i64) {
        match std::env::var("TTS_TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => {
                let url = crate::db::new_postgres_schema(&base).await.unwrap();
                database_at(Some(url)).await
            }
            _ => sqlite_database().await,
        }
    }

    async fn sqlite_database() -> (tempfile::TempDir, Db, i64) {
        database_at(None).await
    }

    /// The database at `url`, or a new SQLite file, migrated and with one requester.
    async fn database_at(url: Option<String>) -> (tempfile::TempDir, Db, i64) {
        let folder = tempfile::tempdir().unwrap();
        let url =
            url.unwrap_or_else(|| format!("sqlite://{}", folder.path().join("tts.db").display()));
        let options = DbOptions {
            url,
            max_connections: Some(2),
            connect_timeout: std::time::Duration::from_secs(5),
        };
        let db = Db::connect(&options).await.unwrap();
        db.migrate().await.unwrap();
        let requester = crate::users::find_or_create_requester(&db, "ann@example.com", "Ann")
            .await
            .unwrap();
        (folder, db, requester)
    }

    fn job(
        requester_id: i64,
        subject: &str,
        external_ref: Option<&str>,
        category_id: Option<i64>,
    ) -> (WriteJob, tokio::sync::oneshot::Receiver<Result<Saved>>) {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let submission = Submission {
            subject: subject.into(),
            description: String::new(),
            category_id,
            sub_category_id: None,
            department_id: None,
            priority: Priority::High,
            fields: "{}".into(),
            requester_id,
            source: TicketSource::Hdts,
            external: external_ref.map(|r| ExternalRef::new("api_key:1", r.to_owned())),
        };
        let job = WriteJob {
            submission,
            actor_id: None,
            answer,
        };
        (job, answered)
    }

    async fn count(db: &Db, sql: &'static str) -> i64 {
        let mut pooled = db.acquire().await.unwrap();
        crate::on_conn!(&mut pooled.conn(), c => sqlx::query_scalar(sql).fetch_one(c).await)
            .unwrap()
    }

    /// One batch holding the same external submission twice (which the checks cannot see:
    /// neither is saved yet when both are checked), a refused one and a plain one: the
    /// multi-row insert fails on the duplicate, and the batch is saved one by one instead.
    #[tokio::test]
    async fn a_batch_with_a_duplicate_and_a_refused_submission_saves_each_once() {
        let (_folder, db, requester) = database().await;
        let batch: Vec<WriteJob> = vec![
            job(requester, "First", Some("HD-1"), None).0,
            job(requester, "First again", Some("HD-1"), None).0,
            job(requester, "Unknown category", None, Some(9_999)).0,
            job(requester, "Plain", None, None).0,
        ];
        let results = write_batch(&db, &batch).await;
        assert_eq!(results.len(), 4);
        let first = results[0].as_ref().unwrap();
        let again = results[1].as_ref().unwrap();
        assert!(first.created);
        assert!(!again.created);
        assert_eq!(first.row.id, again.row.id);
        assert_eq!(again.row.subject, "First");
        assert!(results[2].is_err());
        let plain = results[3].as_ref().unwrap();
        assert!(plain.created);
        assert_eq!(plain.row.subject, "Plain");
        assert_eq!(plain.row.requester_email, "ann@example.com");
        assert_eq!(count(&db, "SELECT COUNT(*) FROM tickets").await, 2);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox").await, 2);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM ticket_events").await, 2);
    }

    /// The checks of a batch are read together, yet each submission is judged on its own:
    /// a sub-category under another category, a retired department or category, and a
    /// receipt already saved are told apart, and only the sound ones are saved.
    #[tokio::test]
    async fn a_batch_judges_each_submissions_reference_data_on_its_own() {
        let (_folder, db, requester) = database().await;
        let now = Utc::now();
        let (hardware, laptops, software, retired, sales, closed_department) = {
            let mut pooled = db.acquire().await.unwrap();
            let mut conn = pooled.conn();
            let hardware = rows::insert_category(&mut conn, None, "Hardware", "", now)
                .await
                .unwrap();
            let laptops = rows::insert_category(&mut conn, Some(hardware), "Laptops", "", now)
                .await
                .unwrap();
            let software = rows::insert_category(&mut conn, None, "Software", "", now)
                .await
                .unwrap();
            let retired = rows::insert_category(&mut conn, None, "Fax", "", now)
                .await
                .unwrap();
            rows::update_category(&mut conn, retired, "Fax", "", false)
                .await
                .unwrap();
            let sales = rows::insert_department(&mut conn, "Sales", now)
                .await
                .unwrap();
            let closed = rows::insert_department(&mut conn, "Typing pool", now)
                .await
                .unwrap();
            rows::update_department(&mut conn, closed, "Typing pool", false)
                .await
                .unwrap();
            (hardware, laptops, software, retired, sales, closed)
        };
        let received = write_batch(&db, &[job(requester, "Earlier", Some("HD-7"), None).0]).await;
        let earlier_id = received[0].as_ref().unwrap().row.id;

        let with = |subject: &str, sub_category_id, department_id| {
            let (mut job, _) = job(requester, subject, None, Some(hardware));
            job.submission.sub_category_id = sub_category_id;
            job.submission.department_id = department_id;
            job
        };
        let batch = vec![
            with("Laptop for Sales", Some(laptops), Some(sales)),
            with("Laptop under Software", Some(software), None),
            with("For a closed department", None, Some(closed_department)),
            job(requester, "Retired category", None, Some(retired)).0,
            job(requester, "Received before", Some("HD-7"), Some(9_999)).0,
            with("Laptop, no department", Some(laptops), None),
        ];
        let results = write_batch(&db, &batch).await;
        let refused_field = |index: usize| match &results[index] {
            Err(crate::Error::App(err)) => err.details.keys().cloned().collect::<Vec<_>>(),
            other => panic!("submission {index} was not refused: {:?}", other.is_ok()),
        };
        let first = results[0].as_ref().unwrap();
        assert_eq!(first.row.sub_category_id, Some(laptops));
        assert_eq!(first.row.department_id, Some(sales));
        assert_eq!(refused_field(1), ["sub_category_id"]);
        assert_eq!(refused_field(2), ["department_id"]);
        assert_eq!(refused_field(3), ["category_id"]);
        let again = results[4].as_ref().unwrap();
        assert!(
            !again.created,
            "a receipt already saved is answered, not checked again"
        );
        assert_eq!(again.row.id, earlier_id);
        assert!(results[5].as_ref().unwrap().created);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM tickets").await, 3);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox").await, 3);
    }

    /// The usual batch: every ticket saved by the multi-row statements, each answered with
    /// its own row, in order.
    #[tokio::test]
    async fn a_batch_answers_each_submitter_with_its_own_ticket() {
        let (_folder, db, requester) = database().await;
        let subjects: Vec<String> = (0..40).map(|n| format!("Ticket {n}")).collect();
        let batch: Vec<WriteJob> = subjects
            .iter()
            .map(|subject| job(requester, subject, None, None).0)
            .collect();
        let results = write_batch(&db, &batch).await;
        let mut previous = 0;
        for (subject, result) in subjects.iter().zip(&results) {
            let saved = result.as_ref().unwrap();
            assert!(saved.created);
            assert_eq!(&saved.row.subject, subject);
            assert!(saved.row.id > previous, "ids follow the submissions' order");
            previous = saved.row.id;
        }
        assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox").await, 40);
    }

    /// Batches saved one after another leave the full-text index in pieces; tidying merges
    /// them (and then has nothing left to do), and every ticket is still found.
    #[tokio::test]
    async fn a_fragmented_search_index_is_merged_and_still_finds_every_ticket() {
        // SQLite's FTS5 index only.
        let (_folder, db, requester) = sqlite_database().await;
        for batch in 0..40 {
            let jobs: Vec<WriteJob> = (0..5)
                .map(|n| job(requester, &format!("Printer jam {batch}-{n}"), None, None).0)
                .collect();
            assert!(write_batch(&db, &jobs).await.iter().all(Result::is_ok));
        }
        assert!(
            db.tidy_search_indexes().await.unwrap() > 0,
            "40 small segments to merge"
        );
        assert_eq!(
            db.tidy_search_indexes().await.unwrap(),
            0,
            "one segment is left"
        );
        assert_eq!(
            count(
                &db,
                "SELECT COUNT(*) FROM tickets_fts WHERE tickets_fts MATCH 'printer'"
            )
            .await,
            200
        );
    }
}
