//! The reports pipeline from Luigi's patterns ("Triggering Many Tasks"), on kart.
//!
//! Five daily reports each write `<workspace>/reports/<Family>/<date>.json`. `AllReports` is a
//! wrapper: it has no output of its own and is complete exactly when all five are, so one
//! command line triggers every report of a day:
//!
//! ```text
//! cargo run -- AllReports --date 2015-01-01
//! ```
//!
//! The reports share an upstream task, `DailySales`, whose output every report loads as a
//! typed input: kart runs it once, first, and hands each report the loaded value.
//!
//! Recurring runs use the range tools: `cargo run -- RangeDaily --of AllReports --start
//! 2015-01-01` in a crontab keeps gaps from occurring; adding `--stop` backfills. An hourly
//! task (`HourlyTraffic`) and a monthly one (`MonthlyRevenue`) are there to try
//! `RangeHourly` and `RangeMonthly` on.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use kart_core::{task, tasks, AnyTask, Month, Result};
use serde::{Deserialize, Serialize};

/// One day's raw sales, by region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sales {
    pub date: NaiveDate,
    pub by_region: Vec<(String, u64)>,
}

/// A finished report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub title: String,
    pub date: NaiveDate,
    pub lines: Vec<String>,
}

/// Collects the day's sales (deterministic stand-in data, so reruns are reproducible).
#[task(output = "sales/{date:%Y}/{date}.json")]
fn daily_sales(
    /// The day to collect.
    date: NaiveDate,
) -> Result<Sales> {
    let seed = u64::from(date.ordinal()) + date.year() as u64;
    let by_region = ["north", "south", "east", "west"]
        .iter()
        .enumerate()
        .map(|(i, r)| (r.to_string(), (seed * 7919 + i as u64 * 104_729) % 10_000))
        .collect();
    Ok(Sales { date, by_region })
}

/// Total sales of the day.
#[task(output = "reports/SomeReport/{date}.json")]
fn some_report(
    /// The day reported on.
    date: NaiveDate,
    #[requires(DailySales { date })] sales: Sales,
) -> Result<Report> {
    let total: u64 = sales.by_region.iter().map(|(_, v)| v).sum();
    Ok(Report {
        title: "Total sales".into(),
        date,
        lines: vec![format!("total: {total}")],
    })
}

/// Sales by region.
#[task(output = "reports/SomeOtherReport/{date}.json")]
fn some_other_report(
    /// The day reported on.
    date: NaiveDate,
    #[requires(DailySales { date })] sales: Sales,
) -> Result<Report> {
    Ok(Report {
        title: "Sales by region".into(),
        date,
        lines: sales
            .by_region
            .iter()
            .map(|(r, v)| format!("{r}: {v}"))
            .collect(),
    })
}

/// Crop yield estimate derived from the day of the year.
#[task(output = "reports/CropReport/{date}.json")]
fn crop_report(
    /// The day reported on.
    date: NaiveDate,
) -> Result<Report> {
    let season = match date.month() {
        3..=5 => "spring",
        6..=8 => "summer",
        9..=11 => "autumn",
        _ => "winter",
    };
    Ok(Report {
        title: "Crop report".into(),
        date,
        lines: vec![format!("season: {season}")],
    })
}

/// The TPS report (cover sheet included). Its family name is set explicitly.
#[task(name = "TPSReport", output = "reports/TPSReport/{date}.json")]
fn tps_report(
    /// The day reported on.
    date: NaiveDate,
    #[requires(DailySales { date })] sales: Sales,
) -> Result<Report> {
    Ok(Report {
        title: "TPS report".into(),
        date,
        lines: vec![
            "cover sheet: attached".into(),
            format!("regions: {}", sales.by_region.len()),
        ],
    })
}

/// Foo, bar and baz of the day.
#[task(output = "reports/FooBarBazReport/{date}.json")]
fn foo_bar_baz_report(
    /// The day reported on.
    date: NaiveDate,
) -> Result<Report> {
    Ok(Report {
        title: "Foo bar baz".into(),
        date,
        lines: ["foo", "bar", "baz"]
            .iter()
            .map(|s| format!("{s}: {}", date.day()))
            .collect(),
    })
}

/// Every report of one day. A wrapper: it does nothing itself and is complete exactly when
/// all five reports are, so one command triggers them all (like `make all`).
#[task(wrapper)]
fn all_reports(
    /// The day to report on (default: today).
    #[param(default = chrono::Local::now().date_naive())]
    date: NaiveDate,
) -> Vec<AnyTask> {
    tasks![
        SomeReport { date },
        SomeOtherReport { date },
        CropReport { date },
        TPSReport { date },
        FooBarBazReport { date },
    ]
}

/// Visits to the site in one hour. Try the range tools on it:
/// `cargo run -- RangeHourly --of HourlyTraffic --start 2015-01-01T00 --stop 2015-01-02T00 --hours-back 1000000`.
#[task(output = "hourly/{hour:%Y-%m-%d}/{hour:%H}.json")]
fn hourly_traffic(
    /// The hour counted, like 2015-01-01T05.
    hour: NaiveDateTime,
) -> Result<u64> {
    Ok(u64::from(hour.hour()) * 37 + u64::from(hour.ordinal()) % 11)
}

/// Revenue of a month: requires the daily sales of every one of its days.
/// `cargo run -- RangeMonthly --of MonthlyRevenue --start 2015-01 --stop 2015-04`.
#[task(output = "monthly/{month}.json")]
fn monthly_revenue(
    /// The month, like 2015-01.
    month: Month,
    #[requires(days_of(month).map(|date| DailySales { date }).collect::<Vec<_>>())] days: Vec<
        Sales,
    >,
) -> Result<u64> {
    Ok(days
        .iter()
        .flat_map(|d| d.by_region.iter().map(|(_, v)| v))
        .sum())
}

/// Every day of `month`.
fn days_of(month: Month) -> impl Iterator<Item = NaiveDate> {
    let next = month.succ().first_day();
    month.first_day().iter_days().take_while(move |d| *d < next)
}

fn main() -> std::process::ExitCode {
    kart_cli::main()
}
