//! SLA clocks that count down live in the browser.
//!
//! The server renders each clock at the moment it answered (`server_now`, sent with the data),
//! so the server's HTML and the browser's first render agree; once the page is hydrated, one
//! ticker per page moves every clock each second on the browser's own time. A browser clock
//! that is far off the server's (more than [`SKEW_TOLERANCE_SECS`]) is corrected by the
//! difference, so a wrong clock on a laptop does not show a wrong countdown.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use domain::workflow::SlaState;
use leptos::prelude::*;

use super::icons::Icon;

/// Differences between the browser's and the server's clocks up to this are network and
/// rendering delay, not a wrong clock.
const SKEW_TOLERANCE_SECS: i64 = 30;

/// The page's ticker: `None` on the server and until the page is hydrated, then the browser's
/// time, updated every second.
pub fn use_ticker() -> Signal<Option<DateTime<Utc>>> {
    let now = RwSignal::new(None);
    Effect::new(move |_| {
        now.set(Some(Utc::now()));
        if let Ok(handle) =
            set_interval_with_handle(move || now.set(Some(Utc::now())), Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    });
    now.into()
}

/// "3d 4h 12m", "4h 12m 05s", "12m 05s", "45s".
pub fn format_countdown(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (days, hours, minutes, secs) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d {hours}h {minutes}m")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m {secs:02}s")
    } else if minutes > 0 {
        format!("{minutes}m {secs:02}s")
    } else {
        format!("{secs}s")
    }
}

pub fn sla_class(state: SlaState) -> &'static str {
    match state {
        SlaState::OnTrack => "sla-on-track",
        SlaState::Warning => "sla-warning",
        SlaState::Breached => "sla-breached",
    }
}

pub fn sla_label(state: SlaState) -> &'static str {
    match state {
        SlaState::OnTrack => "On track",
        SlaState::Warning => "Due soon",
        SlaState::Breached => "Overdue",
    }
}

/// The time now as the clocks should read it: the browser's once hydrated (corrected if it is
/// far off the server's), the server's before.
fn clock_now(
    ticker: Option<DateTime<Utc>>,
    server_now: DateTime<Utc>,
    skew: StoredValue<Option<TimeDelta>>,
) -> DateTime<Utc> {
    let Some(browser_now) = ticker else {
        return server_now;
    };
    let offset = match skew.get_value() {
        Some(offset) => offset,
        None => {
            let difference = server_now - browser_now;
            let offset = if difference.num_seconds().abs() > SKEW_TOLERANCE_SECS {
                difference
            } else {
                TimeDelta::zero()
            };
            skew.set_value(Some(offset));
            offset
        }
    };
    browser_now + offset
}

/// A live countdown to `target_at` for a clock that started at `started_at`: "4h 12m 05s left"
/// in the colour of its state (amber from the warning point on, red once overdue).
#[component]
pub fn SlaCountdown(
    started_at: DateTime<Utc>,
    target_at: DateTime<Utc>,
    /// The state the server saw (shown until the page is hydrated).
    state: SlaState,
    server_now: DateTime<Utc>,
    ticker: Signal<Option<DateTime<Utc>>>,
    /// Show "On track" / "Due soon" / "Overdue" before the time.
    #[prop(optional)]
    with_label: bool,
) -> impl IntoView {
    let skew = StoredValue::new(None::<TimeDelta>);
    let reading = Memo::new(move |_| {
        let ticked = ticker.get();
        let now = clock_now(ticked, server_now, skew);
        let state = if ticked.is_some() {
            SlaState::at(started_at, target_at, now)
        } else {
            state
        };
        ((target_at - now).num_seconds(), state)
    });
    let due = target_at.format("%-d %b %Y, %H:%M UTC").to_string();
    let iso = target_at.to_rfc3339();
    view! {
        <time
            class=move || format!("sla-clock {}", sla_class(reading.get().1))
            datetime=iso
            title=format!("Due {due}")
        >
            {move || {
                let icon = if reading.get().1 == SlaState::Breached { "alert" } else { "clock" };
                view! { <Icon name=icon /> }
            }}
            {with_label.then(|| view! { <span class="sla-state">{move || sla_label(reading.get().1)}</span> })}
            <span class="sla-time">
                {move || {
                    let (seconds, _) = reading.get();
                    if seconds > 0 {
                        format!("{} left", format_countdown(seconds))
                    } else {
                        format!("{} over", format_countdown(seconds))
                    }
                }}
            </span>
        </time>
    }
}

/// A stopped clock: how a finished task or step did against its target.
#[component]
pub fn SlaOutcome(target_at: DateTime<Utc>, finished_at: DateTime<Utc>) -> impl IntoView {
    let seconds = (target_at - finished_at).num_seconds();
    let (class, text) = if seconds >= 0 {
        (
            "sla-clock sla-on-track",
            format!("Met, {} early", format_countdown(seconds)),
        )
    } else {
        (
            "sla-clock sla-breached",
            format!("Missed by {}", format_countdown(seconds)),
        )
    };
    view! {
        <span class=class>
            <Icon name="check" />
            <span class="sla-time">{text}</span>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::format_countdown;

    #[test]
    fn countdowns_read_naturally() {
        assert_eq!(format_countdown(45), "45s");
        assert_eq!(format_countdown(-45), "45s");
        assert_eq!(format_countdown(12 * 60 + 5), "12m 05s");
        assert_eq!(format_countdown(3 * 3600 + 60 + 9), "3h 01m 09s");
        assert_eq!(format_countdown(2 * 86_400 + 4 * 3600 + 7 * 60), "2d 4h 7m");
    }
}
