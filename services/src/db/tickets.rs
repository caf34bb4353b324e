//! Tickets, their history and attachments, reference data, saved filters and settings.

use chrono::{DateTime, Utc};

pub use super::Arg;
use super::{Backend, Conn};
use crate::{bind_all, execute, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRow {
    pub id: i64,
    pub subject: String,
    pub description: String,
    pub category_id: Option<i64>,
    pub category_name: Option<String>,
    pub sub_category_id: Option<i64>,
    pub sub_category_name: Option<String>,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub priority: String,
    pub status: String,
    pub requester_id: i64,
    pub requester_name: String,
    pub requester_email: String,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub assignee_email: Option<String>,
    pub source: String,
    pub external_ref: Option<String>,
    pub fields: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The columns of a [`TicketRow`]; `fields` is read as text on both backends.
const TICKET_COLUMNS: &str = "t.id, t.subject, t.description, \
     t.category_id, c.name AS category_name, t.sub_category_id, sc.name AS sub_category_name, \
     t.department_id, d.name AS department_name, t.priority, t.status, \
     t.requester_id, r.full_name AS requester_name, r.email AS requester_email, \
     t.assignee_id, a.full_name AS assignee_name, a.email AS assignee_email, \
     t.source, t.external_ref, CAST(t.fields AS TEXT) AS fields, \
     t.created_at, t.updated_at, t.resolved_at";

/// A ticket as a list shows it: no description or fields, which a page of 25 would read,
/// copy and drop (descriptions run to kilobytes). On SQLite a page arrives as one JSON array
/// of these (see [`list`]).
#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
pub struct SummaryRow {
    pub id: i64,
    pub subject: String,
    pub category_name: Option<String>,
    pub department_name: Option<String>,
    pub priority: String,
    pub status: String,
    pub requester_id: i64,
    pub requester_name: String,
    pub requester_email: String,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub assignee_email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of a [`SummaryRow`].
const SUMMARY_COLUMNS: &str = "t.id, t.subject, c.name AS category_name, \
     d.name AS department_name, t.priority, t.status, \
     t.requester_id, r.full_name AS requester_name, r.email AS requester_email, \
     t.assignee_id, a.full_name AS assignee_name, a.email AS assignee_email, \
     t.created_at, t.updated_at";

/// `json_object(…)` of a page's [`SummaryRow`] columns (SQLite).
static SUMMARY_AS_JSON: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    // Each column's name as the page has it: its alias, or the column after `t.`.
    let pairs: Vec<String> = SUMMARY_COLUMNS
        .split(',')
        .map(|column| {
            let column = column.trim();
            let name = match column.rsplit_once(" AS ") {
                Some((_, alias)) => alias,
                None => column.rsplit('.').next().unwrap_or(column),
            };
            format!("'{name}', page.{name}")
        })
        .collect();
    format!("json_object({})", pairs.join(", "))
});

/// The joins that name a ticket's people, category and department (`t` is the ticket).
macro_rules! name_joins {
    () => {
        "JOIN users r ON r.id = t.requester_id \
         LEFT JOIN users a ON a.id = t.assignee_id \
         LEFT JOIN categories c ON c.id = t.category_id \
         LEFT JOIN departments d ON d.id = t.department_id"
    };
}

const TICKET_JOINS: &str = concat!(
    "FROM tickets t ",
    name_joins!(),
    " LEFT JOIN categories sc ON sc.id = t.sub_category_id"
);

/// The columns of `tickets` a list page selects before it joins the names of
/// [`SUMMARY_COLUMNS`] (see [`page_sql`]).
const PAGE_COLUMNS: &str = "t.id, t.subject, t.category_id, t.department_id, t.priority, \
     t.status, t.requester_id, t.assignee_id, t.created_at, t.updated_at";

pub struct NewTicketRow<'a> {
    pub subject: &'a str,
    pub description: &'a str,
    pub category_id: Option<i64>,
    pub sub_category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub priority: &'a str,
    pub status: &'a str,
    pub requester_id: i64,
    pub source: &'a str,
    pub external_ref: Option<&'a str>,
    /// `<sender>/<reference>`: unique, found again by a repeated submission.
    pub external_key: Option<&'a str>,
    pub fields: &'a str,
    pub now: DateTime<Utc>,
}

/// Inserts several tickets in one statement (the SQLite writer saves a batch so); their ids,
/// in the order of `rows`.
///
/// Ids are given out in the order the rows are inserted, which for one `INSERT … VALUES` is
/// the order of the values; `RETURNING` gives them in no promised order, hence the sort.
pub async fn insert_many(conn: &mut Conn<'_>, rows: &[NewTicketRow<'_>]) -> sqlx::Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let jsonb = conn.backend() == Backend::Postgres;
    let mut ids: Vec<i64> = on_conn!(conn, c => {
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO tickets (subject, description, category_id, sub_category_id, \
             department_id, priority, status, requester_id, source, external_ref, external_key, \
             fields, created_at, updated_at) ",
        );
        insert.push_values(rows, |mut values, row| {
            values
                .push_bind(row.subject)
                .push_bind(row.description)
                .push_bind(row.category_id)
                .push_bind(row.sub_category_id)
                .push_bind(row.department_id)
                .push_bind(row.priority)
                .push_bind(row.status)
                .push_bind(row.requester_id)
                .push_bind(row.source)
                .push_bind(row.external_ref)
                .push_bind(row.external_key);
            // `fields` arrives as JSON text: PostgreSQL casts it to JSONB, SQLite keeps the text.
            if jsonb {
                values
                    .push("CAST(")
                    .push_bind_unseparated(row.fields)
                    .push_unseparated(" AS JSONB)");
            } else {
                values.push_bind(row.fields);
            }
            values.push_bind(row.now).push_bind(row.now);
        });
        insert.push(" RETURNING id");
        insert.build_query_scalar().fetch_all(c).await
    })?;
    ids.sort_unstable();
    Ok(ids)
}

/// The tickets with these ids (those that exist), in no particular order.
pub async fn find_many(conn: &mut Conn<'_>, ids: &[i64]) -> sqlx::Result<Vec<TicketRow>> {
    let select = format!("SELECT {TICKET_COLUMNS} {TICKET_JOINS} WHERE t.id IN (");
    fetch_where_in(conn, &select, ids).await
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<TicketRow>> {
    let sql = format!("SELECT {TICKET_COLUMNS} {TICKET_JOINS} WHERE t.id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// The ticket received under `external_key` (`<sender>/<reference>`), if any.
pub async fn find_id_by_external_key(
    conn: &mut Conn<'_>,
    external_key: &str,
) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "SELECT id FROM tickets WHERE external_key = $1";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(external_key).fetch_optional(c).await)
}

/// A list query assembled by the ticket service: conditions with their arguments, an order
/// and a page. `search` joins the full-text candidates (see [`search_candidates`]).
pub struct ListQuery {
    pub conditions: Vec<String>,
    pub args: Vec<Arg>,
    pub search: Option<FullTextMatch>,
    /// Who the search is for: see [`SearchReach`].
    pub search_reach: SearchReach,
    pub order: ListOrder,
    pub limit: i64,
    pub offset: i64,
}

/// The order of a list.
pub enum ListOrder {
    /// By id, newest or oldest first: the order of `tickets`' own b-tree, which SQLite can
    /// walk without sorting (see [`page_sql`]).
    Ids { newest_first: bool },
    /// An `ORDER BY` clause on `t`.
    By(&'static str),
    /// Search relevance: tickets with more of these words in their subject first, newest
    /// first among equals.
    SubjectHits(Vec<String>),
}

/// The match expressions of a search (FTS5 syntax on SQLite, `to_tsquery` syntax on
/// PostgreSQL): one for tickets' subjects and descriptions, one for comments. They differ
/// only on PostgreSQL, where a short prefix is searched in tickets as the words it begins
/// and in comments as a prefix (the vocabulary holds tickets' words only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullTextMatch {
    pub tickets: String,
    pub comments: String,
}

impl FullTextMatch {
    /// The same expression for tickets and comments.
    pub fn everywhere(expression: String) -> Self {
        Self {
            tickets: expression.clone(),
            comments: expression,
        }
    }
}

/// What a search may look at, as the ticket service decides it for the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchReach {
    /// Whether words of internal notes find their tickets (agents and admins).
    pub internal_notes: bool,
    /// Whether only the newest [`SEARCH_CANDIDATES`] matches are taken (of tickets, and of
    /// comments). Right for those who see every ticket; for anyone narrower the newest
    /// matches may all be tickets they cannot see, so every match is joined with what they
    /// may see (an employee's own tickets are few).
    pub newest_only: bool,
}

/// How many of the newest matches a search ranks by relevance. Ranking every match of a
/// common word costs seconds at 100,000 tickets (SPEC.md section 5); the newest candidates
/// are what people look for.
pub const SEARCH_CANDIDATES: i64 = 300;

/// A search's candidates, as `SELECT ticket_id …`: the tickets whose subject or description
/// matches, and those with a comment that matches (internal notes only when `reach` allows).
/// `$tickets` and `$comments` are the match expressions ([`FullTextMatch`]).
///
/// Relevance is ranked outside it, by words in the subject ([`ListOrder::SubjectHits`]), not
/// by BM25 (SQLite) or `ts_rank` (PostgreSQL): BM25 weighs a word by how many tickets hold it,
/// which SQLite learns by reading every match of every word on each search (four times the
/// cost of the search itself for a word in one ticket of seven), and within the newest
/// candidates of one search, a hit in the subject is what tells the ticket sought from the
/// ones that mention it. Both backends rank alike.
///
/// On PostgreSQL the plan matters most: walking the primary key backwards, testing each
/// ticket until enough match, costs little for a common word (0.5 ms for the newest 300 of
/// 14,000 matches at 100,000 tickets) and reads every ticket for a rare one (40 ms); the GIN
/// index costs in proportion to the matches (18 ms for those 14,000, under 1 ms for 100).
/// The planner chooses well for whole words, whose frequencies its statistics hold, and
/// blindly for a prefix (`prin:*`), which it always guesses at 2 % of the rows. So a prefix
/// left in an expression (the service turns the short ones into words) takes the index,
/// `id + 0` hiding the primary key's order from the planner: its cost is bounded by what
/// matches.
fn search_candidates(
    backend: Backend,
    search: SearchPlaceholders<'_>,
    reach: SearchReach,
) -> String {
    let SearchPlaceholders {
        tickets,
        comments,
        expressions,
    } = search;
    let limit = if reach.newest_only {
        format!("LIMIT {SEARCH_CANDIDATES}")
    } else {
        String::new()
    };
    // Unlimited when notes are hidden (see `SearchReach`), so filtering after the match
    // loses nothing.
    let public_only = if reach.internal_notes {
        ""
    } else {
        " AND NOT c.is_internal"
    };
    match backend {
        Backend::Sqlite => format!(
            "SELECT rowid AS ticket_id FROM (SELECT rowid FROM tickets_fts \
             WHERE tickets_fts MATCH ${tickets} ORDER BY rowid DESC {limit}) \
             UNION SELECT c.ticket_id FROM comments c WHERE c.id IN (SELECT rowid FROM comments_fts \
             WHERE comments_fts MATCH ${comments} ORDER BY rowid DESC {limit}){public_only}"
        ),
        Backend::Postgres => {
            let (tickets_order, comments_order) = (
                postgres_newest_first(&expressions.tickets, "id"),
                postgres_newest_first(&expressions.comments, "c.id"),
            );
            format!(
                "SELECT ticket_id FROM (SELECT id AS ticket_id FROM tickets \
                 WHERE search_vector @@ to_tsquery('simple', ${tickets}) \
                 ORDER BY {tickets_order} DESC {limit}) matched_tickets \
                 UNION SELECT ticket_id FROM (SELECT c.ticket_id FROM comments c \
                 WHERE c.search_vector @@ to_tsquery('simple', ${comments}){public_only} \
                 ORDER BY {comments_order} DESC {limit}) matched_comments"
            )
        }
    }
}

/// Where [`search_candidates`] finds its match expressions among the arguments, and the
/// expressions themselves (their plan depends on whether they hold a prefix).
struct SearchPlaceholders<'a> {
    tickets: usize,
    comments: usize,
    expressions: &'a FullTextMatch,
}

/// The newest-first order of a PostgreSQL match `expression`: `id` lets the planner choose
/// its plan; `id + 0`, for a prefix (`:*`), makes it take the GIN index (see
/// [`search_candidates`]).
fn postgres_newest_first(expression: &str, id: &str) -> String {
    if expression.contains(":*") {
        format!("{id} + 0")
    } else {
        id.to_owned()
    }
}

/// The parts of a list's statements: its search's candidates ([`search_candidates`]), its
/// `WHERE …`, and the arguments of both.
struct ListParts {
    candidates: Option<String>,
    filter: String,
    args: Vec<Arg>,
}

impl ListParts {
    fn of(conn: &Conn<'_>, query: &ListQuery) -> Self {
        let mut args = query.args.clone();
        let candidates = query.search.as_ref().map(|search| {
            args.push(Arg::Text(search.tickets.clone()));
            let tickets = args.len();
            args.push(Arg::Text(search.comments.clone()));
            let comments = args.len();
            search_candidates(
                conn.backend(),
                SearchPlaceholders {
                    tickets,
                    comments,
                    expressions: search,
                },
                query.search_reach,
            )
        });
        let filter = if query.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", query.conditions.join(" AND "))
        };
        Self {
            candidates,
            filter,
            args,
        }
    }

    /// `FROM tickets t … WHERE …`. `with_names`: join the people, categories and department
    /// the rows show; a count needs none of them (every condition is on `tickets` itself),
    /// and joining 100,000 rows only to count them costs more than the count.
    /// `candidates_in_f`: the search's candidates are a `WITH f AS (…)` the statement puts
    /// first, instead of inline.
    fn from(&self, with_names: bool, candidates_in_f: bool) -> String {
        let names = if with_names {
            concat!(" ", name_joins!())
        } else {
            ""
        };
        let search = match &self.candidates {
            None => String::new(),
            Some(_) if candidates_in_f => " JOIN f ON f.ticket_id = t.id".to_owned(),
            Some(inline) => format!(" JOIN ({inline}) f ON f.ticket_id = t.id"),
        };
        format!("FROM tickets t{names}{search}{}", self.filter)
    }
}

/// A page of the list.
pub async fn list(conn: &mut Conn<'_>, query: &ListQuery) -> sqlx::Result<Vec<SummaryRow>> {
    let parts = ListParts::of(conn, query);
    let (sql, args) = page_sql(conn.backend(), query, &parts, PageOf::Tickets);
    match conn.backend() {
        // sqlx's SQLite driver hands each row from the connection's thread to the task
        // reading it, and each hand-over is a thread switch: under load they took more of a
        // list's time than SQLite itself. The page as one JSON array is one hand-over. (The
        // aggregate takes the page's rows in the order the subquery gives them: with its
        // LIMIT, SQLite runs it as a co-routine and never reorders it.)
        Backend::Sqlite => {
            let sql = format!(
                "SELECT json_group_array({}) FROM ({sql}) page",
                *SUMMARY_AS_JSON
            );
            let page: String =
                on_conn!(conn, c => bind_all!(sqlx::query_scalar(&sql), &args).fetch_one(c).await)?;
            parse_page(&page)
        }
        Backend::Postgres => {
            on_conn!(conn, c => bind_all!(sqlx::query_as(&sql), &args).fetch_all(c).await)
        }
    }
}

/// A page as SQLite returns it, one JSON array (see [`list`]).
fn parse_page(page: &str) -> sqlx::Result<Vec<SummaryRow>> {
    serde_json::from_str(page).map_err(|err| sqlx::Error::Decode(Box::new(err)))
}

/// A row of [`list_counted`] on PostgreSQL.
#[derive(sqlx::FromRow)]
struct CountedRow {
    #[sqlx(flatten)]
    row: SummaryRow,
    matched: i64,
}

/// A page of the list and how many tickets it has in all, in one statement. It counts every
/// match (no bound), so it is for lists whose matches are bounded: a search of the newest
/// candidates, whose page and count then find the candidates once.
///
/// On PostgreSQL the count comes with each row of the page (`COUNT(*) OVER ()`; the count is
/// `None` when the page is empty). On SQLite, where that window made the page wait for every
/// candidate's columns, the candidates are found once (`WITH … MATERIALIZED`) and counted
/// beside the page, and the page is made only when at least `page_from` match (`None`
/// otherwise): a search's whole-word stage that finds too few is followed by its prefix
/// stage, and its page would be thrown away.
pub async fn list_counted(
    conn: &mut Conn<'_>,
    query: &ListQuery,
    page_from: i64,
) -> sqlx::Result<(Option<Vec<SummaryRow>>, Option<i64>)> {
    let parts = ListParts::of(conn, query);
    match conn.backend() {
        Backend::Sqlite => {
            let (page, args) = page_sql(Backend::Sqlite, query, &parts, PageOf::Counted);
            let candidates = match &parts.candidates {
                Some(candidates) => format!("f AS MATERIALIZED ({candidates}), "),
                None => String::new(),
            };
            // Every candidate is a ticket: without conditions they are counted as they are.
            let counted = if parts.candidates.is_some() && parts.filter.is_empty() {
                "FROM f".to_owned()
            } else {
                parts.from(false, true)
            };
            // SQLite runs the scalar subquery of a CASE branch only when the branch is taken.
            let sql = format!(
                "WITH {candidates}counted AS (SELECT COUNT(*) AS matched {counted}) \
                 SELECT matched, CASE WHEN matched >= {page_from} THEN \
                 (SELECT json_group_array({}) FROM ({page}) page) END FROM counted",
                *SUMMARY_AS_JSON
            );
            let (matched, page): (i64, Option<String>) =
                on_conn!(conn, c => bind_all!(sqlx::query_as(&sql), &args).fetch_one(c).await)?;
            Ok((page.as_deref().map(parse_page).transpose()?, Some(matched)))
        }
        Backend::Postgres => {
            let (sql, args) = page_sql(Backend::Postgres, query, &parts, PageOf::Counted);
            let rows: Vec<CountedRow> =
                on_conn!(conn, c => bind_all!(sqlx::query_as(&sql), &args).fetch_all(c).await)?;
            let matched = rows.first().map(|row| row.matched);
            Ok((Some(rows.into_iter().map(|row| row.row).collect()), matched))
        }
    }
}

/// What [`page_sql`] makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PageOf {
    /// The page, its search's candidates inline.
    Tickets,
    /// The page of [`list_counted`]: on PostgreSQL with a `matched` column counting every
    /// match; on SQLite with its search's candidates in `f` (the statement's `WITH`).
    Counted,
}

/// The statement of a page of the list, and its arguments (`parts`', then its order's).
///
/// On PostgreSQL the page's tickets are chosen and ordered on `tickets` alone, and only then
/// joined with the names they show: PostgreSQL plans a statement with parameters anew each
/// time it runs, and the five-table join made that 1.4 ms for a search, more than running
/// it (and joined every candidate of a search before keeping 25).
///
/// SQLite runs the joins lazily when it walks tickets in the page's order (newest first,
/// without a search): it joins the 25 rows it keeps, and a subquery made that list slower
/// (0.056 against 0.043 ms). Any other page is sorted, and SQLite's sorter takes every
/// sorted row whole, names joined: so the page's ids are chosen first, ordered on `tickets`
/// alone, and only those 25 tickets are read again and joined (a search of a common word at
/// 100,000 tickets 0.44 -> 0.32 ms; every ticket by priority 75 -> 37 ms).
fn page_sql(
    backend: Backend,
    query: &ListQuery,
    parts: &ListParts,
    of: PageOf,
) -> (String, Vec<Arg>) {
    let mut args = parts.args.clone();
    // The order, and a column it needs (PostgreSQL's outer query orders by the same names,
    // `t` being the page there, as a join does not keep its input's order).
    let (relevance, order_by) = match &query.order {
        ListOrder::Ids { newest_first: true } => (String::new(), "t.id DESC"),
        ListOrder::Ids {
            newest_first: false,
        } => (String::new(), "t.id"),
        ListOrder::By(order_by) => (String::new(), *order_by),
        ListOrder::SubjectHits(words) if words.is_empty() => (String::new(), "t.id DESC"),
        ListOrder::SubjectHits(words) => {
            // A word in the subject, in any letter case. SQLite's `LIKE` folds case as its
            // `lower` does (ASCII letters) without copying each subject to fold it: a quarter
            // less time to rank a common word's 300 candidates. A word holds no `%` or `_`
            // (only letters and digits, see the ticket service's `typed_words`).
            let hits: Vec<String> = words
                .iter()
                .map(|word| match backend {
                    Backend::Sqlite => {
                        args.push(Arg::Text(format!("%{}%", word.to_lowercase())));
                        format!("(t.subject LIKE ${})", args.len())
                    }
                    Backend::Postgres => {
                        args.push(Arg::Text(word.to_lowercase()));
                        format!(
                            "CASE WHEN strpos(lower(t.subject), ${}) > 0 THEN 1 ELSE 0 END",
                            args.len()
                        )
                    }
                })
                .collect();
            (
                format!(", {} AS relevance", hits.join(" + ")),
                "relevance DESC, t.id DESC",
            )
        }
    };
    let (limit, offset) = (query.limit, query.offset);
    let sql = match backend {
        Backend::Sqlite
            if parts.candidates.is_none() && matches!(query.order, ListOrder::Ids { .. }) =>
        {
            format!(
                "SELECT {SUMMARY_COLUMNS} {} ORDER BY {order_by} LIMIT {limit} OFFSET {offset}",
                parts.from(true, false)
            )
        }
        Backend::Sqlite => {
            format!(
                "SELECT {SUMMARY_COLUMNS} FROM (SELECT t.id{relevance} {} ORDER BY {order_by} \
                 LIMIT {limit} OFFSET {offset}) p JOIN tickets t ON t.id = p.id {} ORDER BY {order_by}",
                parts.from(false, of == PageOf::Counted),
                name_joins!(),
            )
        }
        Backend::Postgres => {
            let (inside, outside) = if of == PageOf::Counted {
                (", COUNT(*) OVER () AS matched", ", t.matched")
            } else {
                ("", "")
            };
            format!(
                "SELECT {SUMMARY_COLUMNS}{outside} FROM (SELECT {PAGE_COLUMNS}{relevance}{inside} \
                 {} ORDER BY {order_by} LIMIT {limit} OFFSET {offset}) t {} ORDER BY {order_by}",
                parts.from(false, false),
                name_joins!(),
            )
        }
    };
    (sql, args)
}

/// How many tickets match, counting at most `bound`; and whether counting stopped there.
///
/// Every ticket, on SQLite, is counted exactly: SQLite counts a whole table from its b-tree
/// pages without reading the rows, faster than it reads `bound` of them (0.1 ms against
/// 0.24 ms at 100,000 tickets). PostgreSQL reads every row to count them.
pub async fn count(
    conn: &mut Conn<'_>,
    query: &ListQuery,
    bound: i64,
) -> sqlx::Result<(i64, bool)> {
    if conn.backend() == Backend::Sqlite && query.conditions.is_empty() && query.search.is_none() {
        let sql = "SELECT COUNT(*) FROM tickets";
        let all = on_conn!(conn, c => sqlx::query_scalar(sql).fetch_one(c).await)?;
        return Ok((all, false));
    }
    let parts = ListParts::of(conn, query);
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 {} LIMIT {bound}) counted",
        parts.from(false, false)
    );
    let args = parts.args;
    let counted: i64 =
        on_conn!(conn, c => bind_all!(sqlx::query_scalar(&sql), &args).fetch_one(c).await)?;
    Ok((counted, counted >= bound))
}

pub struct TicketChanges<'a> {
    pub subject: &'a str,
    pub description: &'a str,
    pub category_id: Option<i64>,
    pub sub_category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub priority: &'a str,
    pub assignee_id: Option<i64>,
    pub now: DateTime<Utc>,
}

pub async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    changes: &TicketChanges<'_>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE tickets SET subject = $1, description = $2, category_id = $3, \
         sub_category_id = $4, department_id = $5, priority = $6, assignee_id = $7, updated_at = $8 \
         WHERE id = $9";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(changes.subject)
            .bind(changes.description)
            .bind(changes.category_id)
            .bind(changes.sub_category_id)
            .bind(changes.department_id)
            .bind(changes.priority)
            .bind(changes.assignee_id)
            .bind(changes.now)
            .bind(id)
    )
}

/// Sets the status if it is still `expected` (so two agents changing it at once cannot both
/// win); returns whether it changed.
pub async fn set_status(
    conn: &mut Conn<'_>,
    id: i64,
    expected: &str,
    status: &str,
    resolved_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE tickets SET status = $1, resolved_at = $2, updated_at = $3 \
                       WHERE id = $4 AND status = $5";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(status)
            .bind(resolved_at)
            .bind(now)
            .bind(id)
            .bind(expected)
    )
    .map(|n| n == 1)
}

/// Sets the status and assignee as the workflow engine decides them (it owns both while a
/// task runs).
pub async fn set_workflow_state(
    conn: &mut Conn<'_>,
    id: i64,
    status: &str,
    assignee_id: Option<i64>,
    resolved_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE tickets SET status = $1, assignee_id = $2, resolved_at = $3, \
                       updated_at = $4 WHERE id = $5";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(status)
            .bind(assignee_id)
            .bind(resolved_at)
            .bind(now)
            .bind(id)
    )
}

// ------------------------------------------------------------------ history

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub from_value: Option<String>,
    pub to_value: Option<String>,
    pub note: String,
    pub is_internal: bool,
    pub created_at: DateTime<Utc>,
}

pub struct NewEvent<'a> {
    pub ticket_id: i64,
    pub kind: &'a str,
    pub actor_id: Option<i64>,
    pub from_value: Option<&'a str>,
    pub to_value: Option<&'a str>,
    pub note: &'a str,
    /// The note is for staff only.
    pub is_internal: bool,
    pub now: DateTime<Utc>,
}

pub async fn insert_event(conn: &mut Conn<'_>, event: &NewEvent<'_>) -> sqlx::Result<u64> {
    insert_events(conn, std::slice::from_ref(event)).await
}

/// [`insert_event`] for several events, in one statement.
pub async fn insert_events(conn: &mut Conn<'_>, events: &[NewEvent<'_>]) -> sqlx::Result<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    on_conn!(conn, c => {
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO ticket_events \
             (ticket_id, kind, actor_id, from_value, to_value, note, is_internal, created_at) ",
        );
        insert.push_values(events, |mut values, event| {
            values
                .push_bind(event.ticket_id)
                .push_bind(event.kind)
                .push_bind(event.actor_id)
                .push_bind(event.from_value)
                .push_bind(event.to_value)
                .push_bind(event.note)
                .push_bind(event.is_internal)
                .push_bind(event.now);
        });
        insert.build().execute(c).await.map(|done| done.rows_affected())
    })
}

pub async fn events(conn: &mut Conn<'_>, ticket_id: i64) -> sqlx::Result<Vec<EventRow>> {
    const SQL: &str = "SELECT e.id, e.kind, e.actor_id, u.full_name AS actor_name, \
         u.email AS actor_email, e.from_value, e.to_value, e.note, e.is_internal, \
         e.created_at \
         FROM ticket_events e LEFT JOIN users u ON u.id = e.actor_id \
         WHERE e.ticket_id = $1 ORDER BY e.id";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(ticket_id).fetch_all(c).await)
}

// ------------------------------------------------------------------ reference data

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DepartmentRow {
    pub id: i64,
    pub name: String,
    pub is_active: bool,
    pub ticket_count: i64,
}

pub async fn departments(conn: &mut Conn<'_>) -> sqlx::Result<Vec<DepartmentRow>> {
    const SQL: &str = "SELECT d.id, d.name, d.is_active, \
         (SELECT COUNT(*) FROM tickets t WHERE t.department_id = d.id) AS ticket_count \
         FROM departments d ORDER BY LOWER(d.name)";
    on_conn!(conn, c => sqlx::query_as(SQL).fetch_all(c).await)
}

/// A category's parent and whether it is active, without counting its tickets.
pub async fn category_brief(
    conn: &mut Conn<'_>,
    id: i64,
) -> sqlx::Result<Option<(Option<i64>, bool)>> {
    const SQL: &str = "SELECT parent_id, is_active FROM categories WHERE id = $1";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

/// `select`, a query ending in `IN (`, run with `values` as the list; its rows.
async fn fetch_where_in<'v, T, V>(
    conn: &mut Conn<'_>,
    select: &str,
    values: &[V],
) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
    V: Copy
        + Send
        + 'v
        + sqlx::Encode<'v, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + sqlx::Encode<'v, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>,
{
    if values.is_empty() {
        return Ok(Vec::new());
    }
    on_conn!(conn, c => {
        let mut query = sqlx::QueryBuilder::new(select);
        let mut list = query.separated(", ");
        for value in values {
            list.push_bind(*value);
        }
        query.push(")");
        query.build_query_as().fetch_all(c).await
    })
}

/// The categories of `ids` that exist, each with its parent and whether it is active: one
/// statement for the checks of a whole batch of submissions.
pub async fn categories_brief(
    conn: &mut Conn<'_>,
    ids: &[i64],
) -> sqlx::Result<Vec<(i64, Option<i64>, bool)>> {
    const SQL: &str = "SELECT id, parent_id, is_active FROM categories WHERE id IN (";
    fetch_where_in(conn, SQL, ids).await
}

/// The departments of `ids` that exist, each with whether it is active.
pub async fn departments_active(
    conn: &mut Conn<'_>,
    ids: &[i64],
) -> sqlx::Result<Vec<(i64, bool)>> {
    const SQL: &str = "SELECT id, is_active FROM departments WHERE id IN (";
    fetch_where_in(conn, SQL, ids).await
}

/// The tickets already received under any of `external_keys`: each key with its ticket.
pub async fn ids_by_external_key(
    conn: &mut Conn<'_>,
    external_keys: &[&str],
) -> sqlx::Result<Vec<(String, i64)>> {
    const SQL: &str = "SELECT external_key, id FROM tickets WHERE external_key IN (";
    fetch_where_in(conn, SQL, external_keys).await
}

/// Whether the department is active; `None` if there is no such department.
pub async fn department_active(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<bool>> {
    const SQL: &str = "SELECT is_active FROM departments WHERE id = $1";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(id).fetch_optional(c).await)
}

pub async fn department_named(conn: &mut Conn<'_>, name: &str) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "SELECT id FROM departments WHERE LOWER(name) = LOWER($1)";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(name).fetch_optional(c).await)
}

/// The active department of this name (any letter case), for tickets from other systems.
pub async fn active_department_named(conn: &mut Conn<'_>, name: &str) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "SELECT id FROM departments WHERE LOWER(name) = LOWER($1) AND is_active";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(name).fetch_optional(c).await)
}

pub async fn insert_department(
    conn: &mut Conn<'_>,
    name: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str =
        "INSERT INTO departments (name, is_active, created_at) VALUES ($1, TRUE, $2) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(name).bind(now).fetch_one(c).await)
}

pub async fn update_department(
    conn: &mut Conn<'_>,
    id: i64,
    name: &str,
    is_active: bool,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE departments SET name = $1, is_active = $2 WHERE id = $3";
    execute!(conn, sqlx::query(SQL).bind(name).bind(is_active).bind(id))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CategoryRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub is_active: bool,
    pub ticket_count: i64,
}

pub async fn categories(conn: &mut Conn<'_>) -> sqlx::Result<Vec<CategoryRow>> {
    const SQL: &str = "SELECT c.id, c.parent_id, c.name, c.description, c.is_active, \
         (SELECT COUNT(*) FROM tickets t WHERE t.category_id = c.id) \
         + (SELECT COUNT(*) FROM tickets t WHERE t.sub_category_id = c.id) AS ticket_count \
         FROM categories c ORDER BY LOWER(c.name)";
    on_conn!(conn, c => sqlx::query_as(SQL).fetch_all(c).await)
}

/// The category with this name under `parent_id` (top level when `None`).
pub async fn category_named(
    conn: &mut Conn<'_>,
    parent_id: Option<i64>,
    name: &str,
) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "SELECT id FROM categories \
         WHERE COALESCE(parent_id, 0) = COALESCE($1, 0) AND LOWER(name) = LOWER($2)";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(parent_id).bind(name).fetch_optional(c).await)
}

/// The active category (or sub-category of `parent_id`) of this name, any letter case, for
/// tickets from other systems.
pub async fn active_category_named(
    conn: &mut Conn<'_>,
    parent_id: Option<i64>,
    name: &str,
) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "SELECT id FROM categories WHERE COALESCE(parent_id, 0) = COALESCE($1, 0) \
         AND LOWER(name) = LOWER($2) AND is_active";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(parent_id).bind(name).fetch_optional(c).await)
}

pub async fn insert_category(
    conn: &mut Conn<'_>,
    parent_id: Option<i64>,
    name: &str,
    description: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO categories (parent_id, name, description, is_active, created_at) \
         VALUES ($1, $2, $3, TRUE, $4) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(parent_id)
        .bind(name)
        .bind(description)
        .bind(now)
        .fetch_one(c)
        .await)
}

pub async fn update_category(
    conn: &mut Conn<'_>,
    id: i64,
    name: &str,
    description: &str,
    is_active: bool,
) -> sqlx::Result<u64> {
    const SQL: &str =
        "UPDATE categories SET name = $1, description = $2, is_active = $3 WHERE id = $4";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(name)
            .bind(description)
            .bind(is_active)
            .bind(id)
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PriorityRow {
    pub code: String,
    pub name: String,
    pub description: String,
    pub sort_order: i64,
}

pub async fn priorities(conn: &mut Conn<'_>) -> sqlx::Result<Vec<PriorityRow>> {
    const SQL: &str =
        "SELECT code, name, description, sort_order FROM priorities ORDER BY sort_order";
    on_conn!(conn, c => sqlx::query_as(SQL).fetch_all(c).await)
}

pub async fn update_priority(
    conn: &mut Conn<'_>,
    code: &str,
    name: &str,
    description: &str,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE priorities SET name = $1, description = $2 WHERE code = $3";
    execute!(
        conn,
        sqlx::query(SQL).bind(name).bind(description).bind(code)
    )
}

pub async fn department_ids_of(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<Vec<i64>> {
    const SQL: &str =
        "SELECT department_id FROM department_members WHERE user_id = $1 ORDER BY department_id";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(user_id).fetch_all(c).await)
}

/// A department's member, with the person's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DepartmentMemberRow {
    pub department_id: i64,
    pub user_id: i64,
    pub full_name: String,
    pub email: String,
}

/// Every department's members, by department, then name.
pub async fn department_members(conn: &mut Conn<'_>) -> sqlx::Result<Vec<DepartmentMemberRow>> {
    const SQL: &str = "SELECT m.department_id, u.id AS user_id, u.full_name, u.email \
         FROM department_members m JOIN users u ON u.id = m.user_id \
         ORDER BY m.department_id, LOWER(u.full_name), u.id";
    on_conn!(conn, c => sqlx::query_as(SQL).fetch_all(c).await)
}

/// The ids of one department's members.
pub async fn department_member_ids(
    conn: &mut Conn<'_>,
    department_id: i64,
) -> sqlx::Result<Vec<i64>> {
    const SQL: &str =
        "SELECT user_id FROM department_members WHERE department_id = $1 ORDER BY user_id";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(department_id).fetch_all(c).await)
}

pub async fn set_department_members(
    conn: &mut Conn<'_>,
    department_id: i64,
    user_ids: &[i64],
) -> sqlx::Result<()> {
    // Agents see their departments' tickets: whose reach changes is everyone's to re-check.
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::Everyone);
    execute!(
        conn,
        sqlx::query("DELETE FROM department_members WHERE department_id = $1").bind(department_id)
    )?;
    for user_id in user_ids {
        execute!(
            conn,
            sqlx::query("INSERT INTO department_members (department_id, user_id) VALUES ($1, $2)")
                .bind(department_id)
                .bind(*user_id)
        )?;
    }
    Ok(())
}

// ------------------------------------------------------------------ settings

pub async fn setting(conn: &mut Conn<'_>, key: &str) -> sqlx::Result<Option<String>> {
    const SQL: &str = "SELECT value FROM settings WHERE key = $1";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(key).fetch_optional(c).await)
}

pub async fn put_setting(
    conn: &mut Conn<'_>,
    key: &str,
    value: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    // A setting may widen or narrow what agents see (`agent_visibility`).
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::Everyone);
    const SQL: &str = "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
    execute!(conn, sqlx::query(SQL).bind(key).bind(value).bind(now))
}

// ------------------------------------------------------------------ saved filters

pub async fn saved_filters(
    conn: &mut Conn<'_>,
    user_id: i64,
) -> sqlx::Result<Vec<(i64, String, String)>> {
    const SQL: &str =
        "SELECT id, name, query FROM saved_filters WHERE user_id = $1 ORDER BY LOWER(name)";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(user_id).fetch_all(c).await)
}

pub async fn insert_saved_filter(
    conn: &mut Conn<'_>,
    user_id: i64,
    name: &str,
    query: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO saved_filters (user_id, name, query, created_at) \
                       VALUES ($1, $2, $3, $4) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(user_id)
        .bind(name)
        .bind(query)
        .bind(now)
        .fetch_one(c)
        .await)
}

pub async fn delete_saved_filter(conn: &mut Conn<'_>, user_id: i64, id: i64) -> sqlx::Result<u64> {
    const SQL: &str = "DELETE FROM saved_filters WHERE id = $1 AND user_id = $2";
    execute!(conn, sqlx::query(SQL).bind(id).bind(user_id))
}

// ------------------------------------------------------------------ attachments

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub ticket_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: Option<i64>,
    pub uploader_name: Option<String>,
    pub uploader_email: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Set for a file attached to a comment.
    pub comment_id: Option<i64>,
    /// Whether that comment is an internal note (its files are hidden like it).
    pub comment_internal: Option<bool>,
    /// When that comment was deleted (its files went with it).
    pub comment_deleted_at: Option<DateTime<Utc>>,
}

const ATTACHMENT_SELECT: &str = "SELECT f.id, f.ticket_id, f.file_name, f.content_type, \
     f.size_bytes, f.sha256, f.uploaded_by, u.full_name AS uploader_name, u.email AS uploader_email, \
     f.created_at, f.comment_id, cm.is_internal AS comment_internal, \
     cm.deleted_at AS comment_deleted_at \
     FROM attachments f LEFT JOIN users u ON u.id = f.uploaded_by \
     LEFT JOIN comments cm ON cm.id = f.comment_id";

pub struct NewAttachment<'a> {
    pub ticket_id: i64,
    pub comment_id: Option<i64>,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub uploaded_by: Option<i64>,
    pub now: DateTime<Utc>,
}

pub async fn insert_attachment(conn: &mut Conn<'_>, file: &NewAttachment<'_>) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO attachments \
         (ticket_id, file_name, content_type, size_bytes, sha256, uploaded_by, created_at, comment_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(file.ticket_id)
        .bind(file.file_name)
        .bind(file.content_type)
        .bind(file.size_bytes)
        .bind(file.sha256)
        .bind(file.uploaded_by)
        .bind(file.now)
        .bind(file.comment_id)
        .fetch_one(c)
        .await)
}

pub async fn attachments_of(
    conn: &mut Conn<'_>,
    ticket_id: i64,
) -> sqlx::Result<Vec<AttachmentRow>> {
    let sql = format!(
        "{ATTACHMENT_SELECT} WHERE f.ticket_id = $1 AND f.comment_id IS NULL ORDER BY f.id"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(ticket_id).fetch_all(c).await)
}

pub async fn find_attachment(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<AttachmentRow>> {
    let sql = format!("{ATTACHMENT_SELECT} WHERE f.id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// The files attached to the ticket itself (`comment_id: None`) or to one of its comments.
pub async fn count_attachments(
    conn: &mut Conn<'_>,
    ticket_id: i64,
    comment_id: Option<i64>,
) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM attachments WHERE ticket_id = $1 \
                       AND (comment_id = $2 OR ($2 IS NULL AND comment_id IS NULL))";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(ticket_id).bind(comment_id).fetch_one(c).await)
}

/// The files attached to the ticket's comments, in the order they were attached.
pub async fn comment_attachments_of(
    conn: &mut Conn<'_>,
    ticket_id: i64,
) -> sqlx::Result<Vec<AttachmentRow>> {
    let sql = format!(
        "{ATTACHMENT_SELECT} WHERE f.ticket_id = $1 AND f.comment_id IS NOT NULL \
         AND cm.deleted_at IS NULL ORDER BY f.id"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(ticket_id).fetch_all(c).await)
}

pub async fn touch(conn: &mut Conn<'_>, ticket_id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
    execute!(
        conn,
        sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(ticket_id)
    )
}

/// Words of the search index that start with `first` (a letter or digit) and have between
/// `shortest` and `longest` characters: the candidates for correcting a typed word.
pub async fn indexed_words(
    conn: &mut Conn<'_>,
    first: char,
    shortest: i64,
    longest: i64,
) -> sqlx::Result<Vec<String>> {
    let from = first.to_string();
    let until = char::from_u32(u32::from(first) + 1)
        .unwrap_or(char::MAX)
        .to_string();
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT term FROM tickets_fts_vocab WHERE term >= $1 AND term < $2 \
             AND length(term) BETWEEN $3 AND $4 ORDER BY doc DESC LIMIT 5000"
        }
        Backend::Postgres => {
            "SELECT word FROM search_words WHERE word COLLATE \"C\" >= $1 \
             AND word COLLATE \"C\" < $2 AND length(word) BETWEEN $3 AND $4 LIMIT 5000"
        }
    };
    on_conn!(conn, c => sqlx::query_scalar(sql)
        .bind(&from)
        .bind(&until)
        .bind(shortest)
        .bind(longest)
        .fetch_all(c)
        .await)
}

/// Whether the search index holds a word starting with `prefix`.
pub async fn has_word_starting_with(conn: &mut Conn<'_>, prefix: &str) -> sqlx::Result<bool> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT EXISTS (SELECT 1 FROM tickets_fts_vocab WHERE term >= $1 AND term < $1 || x'f48fbfbf')"
        }
        Backend::Postgres => {
            "SELECT EXISTS (SELECT 1 FROM search_words WHERE word COLLATE \"C\" >= $1 \
             AND word COLLATE \"C\" < $1 || chr(1114111))"
        }
    };
    on_conn!(conn, c => sqlx::query_scalar(sql).bind(prefix).fetch_one(c).await)
}

/// Up to `limit` words of the PostgreSQL search vocabulary (tickets' words) that start with
/// `prefix`, in byte order.
pub async fn postgres_words_starting_with(
    conn: &mut Conn<'_>,
    prefix: &str,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    const SQL: &str = "SELECT word FROM search_words WHERE word COLLATE \"C\" >= $1 \
         AND word COLLATE \"C\" < $1 || chr(1114111) ORDER BY word COLLATE \"C\" LIMIT $2";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(prefix).bind(limit).fetch_all(c).await)
}
