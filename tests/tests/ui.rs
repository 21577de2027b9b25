//! `<bin> ui` against real runs: its pages show what the workers shared (the workspace's
//! event log, or the Redis stream), change while a run goes on, and show user data as text.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kart_tests::object_server::http::{request, Response};
use kart_tests::redis_server::{free_port, RedisServer};
use support::{spawn, text, Run};

/// `fixture ui` on a free port, killed when dropped.
struct Ui {
    child: Child,
    port: u16,
}

impl Ui {
    fn start(ws: &std::path::Path, extra: &[String]) -> Self {
        let port = free_port();
        let child = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
            .args(["ui", "--bind", &format!("127.0.0.1:{port}"), "--workspace"])
            .arg(ws)
            .args(extra)
            .env_remove("KART_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ui = Ui { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while request(port, "GET", "/", &[], b"").is_err() {
            assert!(
                Instant::now() < deadline,
                "the ui did not answer within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ui
    }

    fn get(&self, path: &str) -> Response {
        request(self.port, "GET", path, &[], b"").unwrap()
    }

    /// The page at `path` once `check` holds for it.
    fn wait_for(&self, path: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let page = self.get(path).text();
            if check(&page) {
                return page;
            }
            assert!(Instant::now() < deadline, "{what} within 30 s:\n{page}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The page of the first task of `family`.
fn first_task_page(ui: &Ui, family: &str) -> String {
    let page = ui.get(&format!("/family/{family}")).text();
    let id = page
        .split("<a href=\"/task/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no task of {family}:\n{page}"));
    ui.get(&format!("/task/{id}")).text()
}

/// The row of `family` in the families table: its cells' numbers.
fn family_row(page: &str, family: &str) -> Vec<usize> {
    let start = page
        .find(&format!("<a href=\"/family/{family}\">{family}</a>"))
        .unwrap_or_else(|| panic!("no row for {family}:\n{page}"));
    let row = &page[start
        ..page[start..]
            .find("</tr>")
            .map_or(page.len(), |e| start + e)];
    row.split("<td class=\"n")
        .skip(1)
        .filter_map(|cell| cell.split('>').nth(1)?.split('<').next()?.parse().ok())
        .collect()
}

#[test]
fn the_pages_show_runs_families_and_tasks_from_the_workspace_log_and_escape_user_data() {
    let run = Run::new();
    run.fixture(&["SleepyFanin", "--n", "5", "--millis", "0"])
        .assert()
        .success();
    let evil = "<script>alert(1)";
    let out = run
        .fixture(&["Doomed", "--name", evil, "--secs", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    let doomed = run.events_of("failed")[0]["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    run.fixture(&["Chatty", "--name", "<b>loud", "--lines", "2"])
        .assert()
        .success();
    let chatty = run
        .events_of("started")
        .iter()
        .find(|e| e["family"] == "Chatty")
        .unwrap()["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ui = Ui::start(&run.workspace(), &[]);

    let home = ui.get("/");
    assert_eq!(home.status, 200);
    let page = home.text();
    // complete, running, pending, failed, not run, total
    assert_eq!(family_row(&page, "Sleepy"), [5, 0, 0, 0, 0, 5], "{page}");
    assert_eq!(family_row(&page, "Doomed"), [0, 0, 0, 1, 0, 1], "{page}");
    assert!(page.contains("Runs (3)"), "{page}");
    assert!(page.contains("Workers alive (0)"), "{page}");

    let family = ui.get("/family/Sleepy").text();
    assert_eq!(
        family.matches("<a href=\"/task/Sleepy_").count(),
        5,
        "{family}"
    );

    let task = ui.get(&format!("/task/{doomed}"));
    assert_eq!(task.status, 200);
    let task = task.text();
    assert!(
        !task.contains(evil),
        "user data must not become markup:\n{task}"
    );
    assert!(task.contains("&lt;script&gt;alert(1)"), "{task}");
    assert!(
        task.contains("&lt;script&gt;alert(1) is doomed"),
        "the error: {task}"
    );
    assert!(task.contains(">failed<"), "{task}");

    // The live view fetches only a page's <main>.
    let partial = request(
        ui.port,
        "GET",
        "/",
        &[("x-kart-partial", "1".to_string())],
        b"",
    )
    .unwrap()
    .text();
    assert!(!partial.contains("<html"), "{partial}");
    assert!(partial.contains("Runs (3)"), "{partial}");

    // What a task logged, as text.
    let log = ui.get(&format!("/task/{chatty}")).text();
    assert!(log.contains("Log (2 lines)"), "{log}");
    assert!(log.contains("&lt;b&gt;loud says 1 line=1"), "{log}");
    assert!(log.contains("&lt;b&gt;loud is done talking"), "{log}");
    assert!(!log.contains("<b>loud"), "{log}");
    // Where it wrote, from the task this binary builds from the events' parameters.
    let output = format!(
        "<th>output</th><td><code>{}/chatty/&lt;b&gt;loud-2-false.json</code>",
        run.workspace().display()
    );
    assert!(log.contains(&output), "{log}");
    let fanin = first_task_page(&ui, "SleepyFanin");
    assert!(
        !fanin.contains("<th>output</th>"),
        "a wrapper writes nothing:\n{fanin}"
    );

    assert_eq!(ui.get("/task/Nope_1").status, 404);
    assert_eq!(ui.get("/run/nope").status, 404);
}

#[test]
fn the_pages_follow_a_live_run_through_redis() {
    let redis = RedisServer::start();
    let flags = redis.flags().to_vec();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let ui = Ui::start(&ws, &flags);
    assert!(ui.get("/").text().contains("Runs (0)"));
    let mut worker_flags = flags.clone();
    worker_flags.extend(["--heartbeat".into(), "100ms".into()]);
    let worker = spawn(
        &ws,
        "a",
        &["LongClaim", "--name", "live", "--secs", "3"],
        &worker_flags,
    );
    // While it runs: one worker alive, naming its task, the family counting it running.
    let page = ui.wait_for("/", "a live worker running LongClaim", |p| {
        p.contains("Workers alive (1)") && p.contains("<a href=\"/task/LongClaim_")
    });
    assert_eq!(family_row(&page, "LongClaim"), [0, 1, 0, 0, 0, 1], "{page}");
    let (out, _) = worker.finish();
    assert!(out.status.success(), "{}", text(&out).1);
    // Then: no worker, the run succeeded, the task complete.
    let page = ui.wait_for("/", "the run's end", |p| {
        p.contains("Workers alive (0)") && p.contains(">succeeded<")
    });
    assert_eq!(family_row(&page, "LongClaim"), [1, 0, 0, 0, 0, 1], "{page}");
}

#[test]
fn an_address_in_use_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .args(["ui", "--bind", &addr.to_string(), "--workspace"])
        .arg(dir.path().join("ws"))
        .env_remove("KART_CONFIG")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

/// Where `.ci/run` installs playwright-core, which drives Debian's Chromium.
const CI_PLAYWRIGHT: &str = "/opt/kart-playwright";

#[test]
fn a_real_browser_watches_a_run_of_several_workers_live() {
    let playwright = std::env::var("KART_PLAYWRIGHT").unwrap_or_else(|_| CI_PLAYWRIGHT.into());
    assert!(
        std::path::Path::new(&playwright)
            .join("node_modules/playwright-core")
            .exists(),
        "playwright-core is not in {playwright}: `npm install --prefix /opt/kart-playwright playwright-core@1.65.1` (bash .ci/run does), or set KART_PLAYWRIGHT"
    );
    let chromium = std::env::var("KART_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "no Chromium at {chromium}: `apt-get install -y chromium` (bash .ci/run does), or set KART_CHROMIUM"
    );
    let redis = RedisServer::start();
    let flags = redis.flags().to_vec();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    // A failed task whose parameter is markup that would run if it were not escaped.
    let evil = "<img src=x onerror=window.kartXss=1>";
    let (out, events) = spawn(
        &ws,
        "evil",
        &["Doomed", "--name", evil, "--secs", "0"],
        &flags,
    )
    .finish();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    let evil_id = events
        .iter()
        .find(|e| e["event"] == "failed")
        .and_then(|e| e["task_id"].as_str())
        .unwrap()
        .to_string();

    // A run with a failure, for its graph, and a range's decision, for its calendar.
    let (out, _) = spawn(&ws, "mixed", &["Mixed", "--n", "3"], &flags).finish();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    let days = ws.join("daily/eu");
    std::fs::create_dir_all(&days).unwrap();
    for day in [
        1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18, 23, 24, 25, 26, 27,
    ] {
        std::fs::write(days.join(format!("2020-01-{day:02}.json")), "\"x\"").unwrap();
    }
    let (out, _) = spawn(
        &ws,
        "range",
        &support::decide_only(&support::JANUARY_2020),
        &flags,
    )
    .finish();
    assert!(out.status.success(), "{}", text(&out).1);

    let ui = Ui::start(&ws, &flags);
    let shots = std::env::var("KART_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("shots"));
    std::fs::create_dir_all(&shots).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/live_view.js");
    let mut browser = Command::new("node")
        .arg(&script)
        .arg(&playwright)
        .arg(format!("http://127.0.0.1:{}/", ui.port))
        .arg(&shots)
        .arg(&evil_id)
        .env("KART_CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs (apt-get install -y nodejs)");
    let mut said = BufReader::new(browser.stdout.take().unwrap()).lines();
    let mut next = || said.next().map(|l| l.unwrap()).unwrap_or_default();
    assert_eq!(next(), "loaded \"Workers alive (0)\"");

    // Two processes of two workers each share one run while the page stays open.
    let mut worker_flags = flags.clone();
    worker_flags.extend(["--workers", "2", "--heartbeat", "100ms"].map(String::from));
    let args = ["SleepyFanin", "--n", "24", "--millis", "500"];
    let workers = [
        spawn(&ws, "a", &args, &worker_flags),
        spawn(&ws, "b", &args, &worker_flags),
    ];
    // The page, never reloaded, shows both alive with part of the work done, then the end
    // with all of it.
    let live = next();
    let done = |line: &str, prefix: &str| -> usize {
        let n = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line}"));
        n.parse().unwrap_or_else(|_| panic!("{line}"))
    };
    assert!(
        done(&live, "live: Workers alive (2), Sleepy complete ") < 24,
        "{live}"
    );
    for w in workers {
        let (out, _) = w.finish();
        assert!(out.status.success(), "{}", text(&out).1);
    }
    let ended = next();
    assert_eq!(
        done(&ended, "ended: Workers alive (0), Sleepy complete "),
        24
    );
    let task = next();
    assert!(task.starts_with("task: xss=none "), "{task}");
    assert!(
        task.contains(&serde_json::to_string(evil).unwrap()[1..evil.len()]),
        "{task}"
    );
    assert_eq!(
        next(),
        "graph: Boom:box failed Chain:box complete Mixed:box notrun"
    );
    assert_eq!(next(), "calendar: complete=19 missing=12");
    assert!(browser.wait().unwrap().success());
    for name in [
        "ui-live.png",
        "ui-runs.png",
        "ui-task.png",
        "ui-graph.png",
        "ui-calendar.png",
    ] {
        let png = std::fs::read(shots.join(name)).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}");
    }
}

/// How many of a calendar's cells are in `state`.
fn cells(page: &str, state: &str) -> usize {
    page.matches(&format!("<td class=\"day {state}\"")).count()
}

#[test]
fn a_range_calendar_shows_the_complete_and_missing_days_then_the_days_that_ran() {
    let run = Run::new();
    // 20 of 31 days already there.
    let dir = run.workspace().join("daily/eu");
    std::fs::create_dir_all(&dir).unwrap();
    for day in 1..=20 {
        std::fs::write(dir.join(format!("2020-01-{day:02}.json")), "\"x\"").unwrap();
    }
    let range = support::JANUARY_2020;
    run.fixture(&support::decide_only(&range))
        .assert()
        .success();
    {
        let ui = Ui::start(&run.workspace(), &[]);
        assert!(ui
            .get("/")
            .text()
            .contains("<a href=\"/calendar/Daily\">calendar</a>"));
        let cal = ui.get("/calendar/Daily").text();
        assert_eq!(
            (cells(&cal, "complete"), cells(&cal, "missing")),
            (20, 11),
            "{cal}"
        );
        assert!(cal.contains("20 of 31 days complete"), "{cal}");
        assert!(cal.contains("title=\"2020-01-31\""), "{cal}");
        assert_eq!(ui.get("/calendar/Nope").status, 404);
    }
    // The range runs the missing days: the calendar fills.
    run.fixture(&range).assert().success();
    let ui = Ui::start(&run.workspace(), &[]);
    let cal = ui.get("/calendar/Daily").text();
    assert_eq!(
        (cells(&cal, "complete"), cells(&cal, "missing")),
        (31, 0),
        "{cal}"
    );
}

#[test]
fn a_calendar_draws_hourly_ranges_a_day_per_row_and_monthly_ranges_a_year_per_row() {
    let run = Run::new();
    // 30 of 48 hours there: all of 1 January and the first 6 hours of the 2nd.
    for hour in 0..30 {
        let dir = run
            .workspace()
            .join(format!("TaskA/2020-01-{:02}", 1 + hour / 24));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{:02}", hour % 24)), "\"x\"").unwrap();
    }
    // 5 of 12 months there.
    std::fs::create_dir_all(run.workspace().join("monthly")).unwrap();
    for month in 1..=5 {
        let path = format!("monthly/2020-{month:02}.json");
        std::fs::write(run.workspace().join(path), "\"x\"").unwrap();
    }
    let hours = [
        "RangeHourly",
        "--of",
        "TaskA",
        "--start",
        "2020-01-01T00",
        "--stop",
        "2020-01-03T00",
        "--hours-back",
        "100000",
    ];
    let months = [
        "RangeMonthly",
        "--of",
        "Monthly",
        "--start",
        "2020-01",
        "--stop",
        "2021-01",
        "--months-back",
        "1000",
    ];
    for range in [&hours[..], &months[..]] {
        run.fixture(&support::decide_only(range)).assert().success();
    }
    let ui = Ui::start(&run.workspace(), &[]);
    let cal = ui.get("/calendar/TaskA").text();
    assert_eq!(
        (cells(&cal, "complete"), cells(&cal, "missing")),
        (30, 18),
        "{cal}"
    );
    assert!(cal.contains("30 of 48 hours complete"), "{cal}");
    assert!(
        cal.contains("<th>2020-01-01</th>") && cal.contains("<th>2020-01-02</th>"),
        "{cal}"
    );
    assert!(cal.contains("title=\"2020-01-02T23\""), "{cal}");
    let cal = ui.get("/calendar/Monthly").text();
    assert_eq!(
        (cells(&cal, "complete"), cells(&cal, "missing")),
        (5, 7),
        "{cal}"
    );
    assert!(cal.contains("5 of 12 months complete"), "{cal}");
    assert!(
        cal.contains("<th>2020</th>") && !cal.contains("<th>2021</th>"),
        "{cal}"
    );
    drop(ui);

    // The hours that ran since show as they ended.
    run.fixture(&hours).assert().success();
    let ui = Ui::start(&run.workspace(), &[]);
    let cal = ui.get("/calendar/TaskA").text();
    assert_eq!(
        (cells(&cal, "complete"), cells(&cal, "missing")),
        (48, 0),
        "{cal}"
    );
}

/// The box of `family` in a run's graph: its counts per state, as `(state, count)`.
fn graph_box(page: &str, family: &str) -> Vec<(String, usize)> {
    let start = page
        .find(&format!("data-family=\"{family}\""))
        .unwrap_or_else(|| panic!("no box for {family}:\n{page}"));
    let g = &page[start..start + page[start..].find("</g>").unwrap()];
    g.split("data-state=\"")
        .skip(1)
        .map(|s| {
            let state = s.split('"').next().unwrap().to_string();
            let n = s.split('>').nth(1).unwrap().split(' ').next().unwrap();
            (state, n.parse().unwrap())
        })
        .collect()
}

#[test]
fn a_runs_graph_shows_each_family_with_its_counts_and_the_families_it_requires() {
    let run = Run::new();
    // Mixed(3) requires Boom(3), which fails, and Chain(3) .. Chain(0), which complete.
    let out = run.fixture(&["Mixed", "--n", "3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    let ui = Ui::start(&run.workspace(), &[]);
    let home = ui.get("/").text();
    let run_id = home
        .split("<a href=\"/run/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no run:\n{home}"));
    let page = ui.get(&format!("/run/{run_id}")).text();
    assert_eq!(graph_box(&page, "Mixed"), [("notrun".into(), 1)], "{page}");
    assert_eq!(
        graph_box(&page, "Chain"),
        [("complete".into(), 4)],
        "{page}"
    );
    assert_eq!(graph_box(&page, "Boom"), [("failed".into(), 1)], "{page}");
    // Mixed → Boom and Mixed → Chain; Chain's edges to itself are not drawn.
    assert_eq!(page.matches("<line class=\"edge\"").count(), 2, "{page}");
    assert!(page.contains("<a href=\"/family/Boom\">"), "{page}");
    // Drilled to the instance: its error and the worker that saw it.
    let boom = ui.get("/family/Boom").text();
    assert!(boom.contains("boom 3"), "{boom}");
    assert!(boom.contains(", worker-"), "{boom}");

    // A second run's graph counts its own tasks: Chain(5) and Chain(4), which run, and
    // Chain(3), found complete (so what it requires is not in the graph).
    run.fixture(&["Chain", "--n", "5"]).assert().success();
    let home = ui.wait_for("/", "the second run", |p| p.contains("Runs (2)"));
    let second = home
        .split("<a href=\"/run/")
        .skip(1)
        .find(|s| !s.starts_with(run_id))
        .and_then(|s| s.split('"').next())
        .unwrap();
    let page = ui.get(&format!("/run/{second}")).text();
    assert_eq!(
        graph_box(&page, "Chain"),
        [("complete".into(), 3)],
        "{page}"
    );
    assert!(!page.contains("data-family=\"Boom\""), "{page}");
    assert_eq!(page.matches("<line class=\"edge\"").count(), 0, "{page}");
}

/// The cell of `class` in the workers table's row of the process `pid`.
fn worker_cell(page: &str, pid: u32, class: &str) -> String {
    let start = page
        .find(&format!("<td class=\"n\">{pid}</td>"))
        .unwrap_or_else(|| panic!("no worker {pid}:\n{page}"));
    let row = &page[start..start + page[start..].find("</tr>").unwrap()];
    let cell = &row[row
        .find(&format!("class=\"{class}\""))
        .unwrap_or_else(|| panic!("no {class} in {row}"))..];
    cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()].to_string()
}

#[test]
fn the_workers_alive_show_the_locks_claims_and_resources_they_hold_against_the_limits() {
    let redis = RedisServer::start();
    let mut flags = redis.flags().to_vec();
    flags.extend(["--heartbeat".into(), "100ms".into()]);
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let ui = Ui::start(&ws, &redis.flags());
    // Four warehouse loads on four workers, but two units of the resource: two run at a time.
    let loads = spawn(
        &ws,
        "loads",
        &[
            "WarehouseLoad",
            "--n",
            "4",
            "--millis",
            "1500",
            "--workers",
            "4",
            "--resource",
            "warehouse_db=2",
        ],
        &flags,
    );
    let holder = spawn(
        &ws,
        "holder",
        &["HoldLock", "--name", "ui", "--secs", "2"],
        &flags,
    );
    let page = ui.wait_for("/", "both workers holding what they hold", |p| {
        p.contains("Workers alive (2)")
            && p.contains("<code>run:HoldLock_")
            && p.contains("<td class=\"n\">2</td><td class=\"n\">2</td>")
    });
    // The resource is used to its limit, by the loads' process alone.
    assert!(page.contains("Resources in use"), "{page}");
    let (loads_pid, holder_pid) = (loads.child.id(), holder.child.id());
    assert_eq!(
        worker_cell(&page, loads_pid, "resources"),
        "<code>warehouse_db</code> 2<br>",
        "{page}"
    );
    // Each running task holds its claim; the lock holder's run lock is a plain lock, and
    // serves it as its claim.
    assert_eq!(worker_cell(&page, loads_pid, "n claims"), "2", "{page}");
    assert_eq!(worker_cell(&page, loads_pid, "locks"), "", "{page}");
    assert!(
        worker_cell(&page, holder_pid, "locks").starts_with("<code>run:HoldLock_"),
        "{page}"
    );
    assert_eq!(worker_cell(&page, holder_pid, "n claims"), "0", "{page}");
    assert_eq!(worker_cell(&page, holder_pid, "resources"), "", "{page}");
    for worker in [loads, holder] {
        let (out, _) = worker.finish();
        assert!(out.status.success(), "{}", text(&out).1);
    }
    let page = ui.wait_for("/", "both runs' ends", |p| p.contains("Workers alive (0)"));
    assert!(!page.contains("Resources in use"), "{page}");
}
