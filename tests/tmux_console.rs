//! The real binary in a real terminal: tmux runs `otp-console --demo event-loop-blocking`,
//! and the test reads the screen as a user would. It waits for the event-loop verdict, runs
//! the OTP flow through the demo phone (start, read the code off the Twilio pane, enter it,
//! verified), zooms a pane, opens the help, quits, and checks the terminal was restored.
//! Each runbook repair runs from its verdict through the repair window (the form with the value
//! masked, the plan, a refused wrong service name, the rollout, the OTP start after the fix) to
//! verdict none, and `W` writes a report without the value set. SIGTERM and a panic (debug
//! builds can be told to panic) must both leave the terminal restored.
//! `tests/run.sh` installs tmux where it is missing.

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(command: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("otp-console-e2e-{}-{n}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "160",
                "-y",
                "48",
                command,
            ])
            .status()
            .expect("tmux runs (tests/run.sh installs it)");
        assert!(status.success());
        Self { session }
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(status.success());
    }

    /// Resizes the terminal the console runs in.
    fn resize(&self, width: u16, height: u16) {
        let status = Command::new("tmux")
            .args(["resize-window", "-t", &self.session, "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .status()
            .expect("resize-window");
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn display(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.session, format])
            .output()
            .expect("display");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The terminal as the console found it, with `after` the screen once it exited: the
    /// main screen back and the console's frame gone, the cursor shown, mouse capture off.
    fn assert_restored(&self, after: &str) {
        assert!(
            !after.contains("Checklist"),
            "the console's screen was left behind:\n{after}"
        );
        assert_eq!(
            self.display("#{alternate_on}"),
            "0",
            "still on the alternate screen"
        );
        assert_eq!(self.display("#{cursor_flag}"), "1", "cursor left hidden");
        assert_eq!(
            self.display("#{mouse_any_flag}"),
            "0",
            "mouse capture left on"
        );
    }

    /// Waits until the screen satisfies `ok`, or fails with the last screen.
    fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

/// The demo phone's newest code as the Twilio pane shows it.
fn code_on_screen(screen: &str) -> Option<String> {
    screen.match_indices("code ").find_map(|(at, _)| {
        let digits: String = screen[at + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (digits.len() == 6).then_some(digits)
    })
}

#[test]
fn tmux_demo_end_to_end() {
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let tmux = Tmux::start(&format!("{binary} --demo event-loop-blocking --time-scale 0.05; echo OTP-CONSOLE-EXITED $?; sleep 60"));
    tmux.wait_for("the demo header", Duration::from_secs(20), |s| {
        s.contains("DEMO") && s.contains("event-loop-blocking")
    });
    tmux.wait_for("the first probes", Duration::from_secs(20), |s| {
        s.contains("Nerava Production")
    });

    // The OTP start through the API, behind its confirmation with the masked number.
    tmux.keys(&["o"]);
    let confirm = tmux.wait_for("the confirmation", Duration::from_secs(5), |s| {
        s.contains("Send an OTP through the API")
    });
    assert!(
        confirm.contains("•••6318") && !confirm.contains("7133056318"),
        "{confirm}"
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for("the event-loop verdict", Duration::from_secs(20), |s| {
        s.contains("verdict: event_loop_blocked")
    });

    // The SMS arrives on the demo phone once the loop frees; enter its code.
    let screen = tmux.wait_for("the SMS on the demo phone", Duration::from_secs(30), |s| {
        code_on_screen(s).is_some()
    });
    let code = code_on_screen(&screen).expect("code");
    tmux.keys(&["c"]);
    tmux.wait_for("the code entry", Duration::from_secs(5), |s| {
        s.contains("Enter the SMS code")
    });
    tmux.keys(&[&code, "Enter"]);
    let verified = tmux.wait_for("the verification", Duration::from_secs(20), |s| {
        s.contains("code entered and verified")
    });
    assert!(
        !verified.contains("eyJhbGci"),
        "a token on screen:\n{verified}"
    );

    // Zoom the focused pane to full screen, then back.
    tmux.keys(&["z"]);
    tmux.wait_for("the zoomed checklist", Duration::from_secs(5), |s| {
        s.contains("1 Checklist") && !s.contains("5 Twilio")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("all five panes", Duration::from_secs(5), |s| {
        s.contains("5 Twilio") && s.contains("3 Logs")
    });

    // Help, then quit.
    tmux.keys(&["?"]);
    tmux.wait_for("the help", Duration::from_secs(5), |s| {
        s.contains("Keys") && s.contains("probe all")
    });
    tmux.keys(&["Escape"]);
    // Wait for the help to close: Escape and q read together are Alt-q to a terminal.
    tmux.wait_for("the help closed", Duration::from_secs(5), |s| {
        !s.contains("close this help")
    });
    tmux.keys(&["q"]);
    let after = tmux.wait_for("the exit", Duration::from_secs(15), |s| {
        s.contains("OTP-CONSOLE-EXITED")
    });
    assert!(after.contains("OTP-CONSOLE-EXITED 0"), "{after}");
    tmux.assert_restored(&after);
}

#[test]
fn tmux_sigterm_and_hangup_end_the_console_and_restore_the_terminal() {
    let binary = env!("CARGO_BIN_EXE_otp-console");
    // 128 + the signal, as a shell reports a process the signal ended.
    for (signal, status) in [("TERM", "143"), ("HUP", "129")] {
        let tmux = Tmux::start(&format!("{binary} --demo healthy --time-scale 0.05 & pid=$!; echo PID $pid; wait $pid; echo OTP-CONSOLE-EXITED $?; sleep 60"));
        tmux.wait_for("the console", Duration::from_secs(20), |s| {
            s.contains("DEMO")
        });
        // The console runs in the background of the pane's shell; find it by its parent.
        let shell = tmux.display("#{pane_pid}");
        let out = Command::new("pgrep")
            .args(["-P", &shell])
            .output()
            .expect("pgrep");
        let pid = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        assert!(!pid.is_empty(), "no console process under {shell}");
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .is_ok_and(|s| s.success()));
        let after = tmux.wait_for("the exit after the signal", Duration::from_secs(10), |s| {
            s.contains("OTP-CONSOLE-EXITED")
        });
        tmux.assert_restored(&after);
        assert!(
            after.contains(&format!("OTP-CONSOLE-EXITED {status}")),
            "SIG{signal}: {after}"
        );
    }
}

/// The text between `before` and `after` on the screen.
fn between<'a>(screen: &'a str, before: &str, after: &str) -> Option<&'a str> {
    let start = screen.find(before)? + before.len();
    let len = screen[start..].find(after)?;
    Some(&screen[start..start + len])
}

/// How a repair is chosen in the window.
enum Choice {
    /// Set the flagged variable to this value.
    Set(&'static str, &'static str),
    /// Roll back to the previous revision.
    RollBack,
}

/// Runs one runbook repair in the real console, from the verdict to "Verified" and verdict
/// none in the header; returns the still running session and where `W` writes the report.
fn repair_in_tmux(scenario: &str, verdict: &str, choice: &Choice) -> (Tmux, std::path::PathBuf) {
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let report = std::env::temp_dir().join(format!(
        "otp-console-e2e-report-{scenario}-{}",
        std::process::id()
    ));
    let tmux = Tmux::start(&format!(
        "{binary} --demo {scenario} --time-scale 0.05 --report {}; echo OTP-CONSOLE-EXITED $?; sleep 60",
        report.display()
    ));
    tmux.wait_for("the env pane", Duration::from_secs(30), |s| {
        s.contains("TWILIO_VERIFY_SERVICE_SID")
    });
    if matches!(choice, Choice::RollBack) {
        // The event-loop verdict needs an OTP start that hangs, as the runbook's curl does.
        tmux.keys(&["o"]);
        tmux.wait_for("the confirmation", Duration::from_secs(5), |s| {
            s.contains("Send an OTP through the API")
        });
        tmux.keys(&["Enter"]);
    }
    tmux.wait_for(verdict, Duration::from_secs(30), |s| {
        s.contains(&format!("verdict: {verdict}"))
    });

    tmux.keys(&["R"]);
    tmux.wait_for("the chooser", Duration::from_secs(5), |s| {
        s.contains("Repair · choose")
    });
    match choice {
        Choice::Set(name, value) => {
            // Waited for, not read once: a capture can land mid-frame, before the modal's
            // lower rows are drawn.
            tmux.wait_for("the flagged variable", Duration::from_secs(5), |s| {
                s.contains(&format!("flagged: {name}"))
            });
            tmux.keys(&["Enter"]);
            tmux.wait_for("the form", Duration::from_secs(5), |s| {
                s.contains("Repair · set environment variables")
            });
            tmux.keys(&["-l", value]);
            let form = tmux.wait_for("the masked value", Duration::from_secs(5), |s| {
                s.contains(&format!("({} characters)", value.len()))
            });
            assert!(
                !form.contains(value) && !form.contains(&value[..10]),
                "{form}"
            );
            tmux.keys(&["Enter"]);
        }
        Choice::RollBack => tmux.keys(&["2"]),
    }

    // The plan: diff and commands, applied only once the service name is typed.
    let plan = tmux.wait_for("the plan", Duration::from_secs(20), |s| {
        s.contains("Type the service name")
    });
    match choice {
        Choice::Set(name, _) => {
            assert!(
                plan.contains(&format!("~ {name}")) || plan.contains(&format!("+ {name}")),
                "{plan}"
            );
            let command = if scenario.starts_with("apprunner-") {
                "aws apprunner update-service"
            } else {
                "aws ecs register-task-definition"
            };
            assert!(plan.contains(command), "{plan}");
        }
        Choice::RollBack => assert!(plan.contains("~ image"), "{plan}"),
    }
    let service = between(&plan, "Type the service name ", " to apply")
        .expect("the service name")
        .trim()
        .to_owned();
    tmux.keys(&["-l", "wrong-name"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the refusal", Duration::from_secs(5), |s| {
        s.contains("exactly to apply")
    });
    for _ in 0.."wrong-name".len() {
        tmux.keys(&["BSpace"]);
    }
    tmux.keys(&["-l", &service]);
    tmux.keys(&["Enter"]);

    // The rollout, then the verification after the fix behind the usual confirmation.
    tmux.wait_for("the rollout to complete", Duration::from_secs(60), |s| {
        s.contains("Rollout completed") || s.contains("SUCCEEDED in")
    });
    tmux.keys(&["o"]);
    tmux.wait_for("the OTP confirmation", Duration::from_secs(5), |s| {
        s.contains("Send an OTP through the API")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the verification", Duration::from_secs(60), |s| {
        s.contains("✓ Verified")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("verdict none in the header", Duration::from_secs(30), |s| {
        s.contains("no failure found") && s.contains("repair: verified")
    });
    (tmux, report)
}

#[test]
fn tmux_repair_missing_env_vars_by_setting_the_variable_and_write_the_report() {
    const SID: &str = "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let (tmux, report) = repair_in_tmux(
        "missing-env-vars",
        "missing_env_vars",
        &Choice::Set("TWILIO_VERIFY_SERVICE_SID", SID),
    );
    // The incident report, with the repair and without the value set.
    tmux.keys(&["W"]);
    tmux.wait_for("the report notice", Duration::from_secs(10), |s| {
        s.contains("Incident report written")
    });
    let markdown =
        std::fs::read_to_string(report.with_extension("md")).expect("the Markdown report");
    let json = std::fs::read_to_string(report.with_extension("json")).expect("the JSON report");
    assert!(markdown.contains("repair planned"), "{markdown}");
    assert!(markdown.contains("rollout completed"), "{markdown}");
    // It opens like a postmortem: the incident as first named, then where it stands now.
    let summary: String = markdown
        .lines()
        .skip_while(|l| *l != "## Summary")
        .take_while(|l| !l.starts_with("- Target"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        summary.contains("Incident: **missing_env_vars**") && summary.contains("now: **none**"),
        "{markdown}"
    );
    assert!(summary.contains("(time to recover)"), "{summary}");
    assert!(
        summary.contains("(the service's name typed)") && summary.contains("; completed "),
        "{summary}"
    );
    // What changed is the repair's: the incident's revision against the one at the end.
    assert!(
        markdown.contains(
            "(running at the end) against nerava-backend:42 (running when the incident was seen)"
        ) && markdown.contains("TWILIO_VERIFY_SERVICE_SID"),
        "{markdown}"
    );
    for text in [&markdown, &json] {
        assert!(!text.contains(SID), "the SID set is in the report");
    }
    tmux.keys(&["q"]);
    let after = tmux.wait_for("the exit", Duration::from_secs(15), |s| {
        s.contains("OTP-CONSOLE-EXITED")
    });
    assert!(after.contains("OTP-CONSOLE-EXITED 0"), "{after}");
    let _ = std::fs::remove_file(report.with_extension("md"));
    let _ = std::fs::remove_file(report.with_extension("json"));
}

/// #24: App Runner's repair in the console window, as ECS's: the form, the plan with App
/// Runner's commands, the typed name, the operation followed to SUCCEEDED, then verified.
#[test]
fn tmux_repair_apprunner_missing_env_vars_by_update_service() {
    let (tmux, _) = repair_in_tmux(
        "apprunner-missing-env-vars",
        "missing_env_vars",
        &Choice::Set(
            "TWILIO_VERIFY_SERVICE_SID",
            "VA0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        ),
    );
    let screen = tmux.screen();
    assert!(screen.contains("simulated · App Runner"), "{screen}");
}

#[test]
fn tmux_repair_invalid_credentials_by_a_new_token() {
    repair_in_tmux(
        "invalid-credentials",
        "invalid_credentials",
        &Choice::Set("TWILIO_AUTH_TOKEN", "4d2c8e6a0b1f3e5d7c9a2b4c6d8e0f1a"),
    );
}

/// #26: after the roll back and its verification, the report opens like a postmortem: the
/// incident named and when (time to diagnose), the image change behind it and its author, the
/// roll back to :41, who confirmed it, the verification and the time to recover.
#[test]
fn tmux_repair_event_loop_blocking_by_rolling_back() {
    let (tmux, report) = repair_in_tmux(
        "event-loop-blocking",
        "event_loop_blocked",
        &Choice::RollBack,
    );
    tmux.keys(&["W"]);
    tmux.wait_for("the report notice", Duration::from_secs(10), |s| {
        s.contains("Incident report written")
    });
    let markdown =
        std::fs::read_to_string(report.with_extension("md")).expect("the Markdown report");
    let summary: String = markdown
        .lines()
        .skip_while(|l| *l != "## Summary")
        .take_while(|l| !l.starts_with("- Target"))
        .collect::<Vec<_>>()
        .join("\n");
    for want in [
        "Incident: **event_loop_blocked**",
        "after the session began, on:",
        "The change behind it: ",
        "user/deploy-bot",
        "Done: ",
        ":41",
        "(the service's name typed)",
        "Verified: **none**",
        "(time to recover)",
    ] {
        assert!(summary.contains(want), "{want}\n{summary}");
    }
    assert!(
        markdown.contains("## Traces of the OTP starts sent"),
        "{markdown}"
    );
    let _ = std::fs::remove_file(report.with_extension("md"));
    let _ = std::fs::remove_file(report.with_extension("json"));
}

#[test]
fn tmux_a_panic_restores_the_terminal() {
    // Debug builds panic in a task half a second after the first frame when asked to.
    if !cfg!(debug_assertions) {
        return;
    }
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let tmux = Tmux::start(&format!(
        "RUST_BACKTRACE=0 OTP_CONSOLE_TEST_PANIC=1 {binary} --demo healthy --time-scale 0.05; echo OTP-CONSOLE-EXITED $?; sleep 60"
    ));
    let after = tmux.wait_for("the exit after the panic", Duration::from_secs(20), |s| {
        s.contains("OTP-CONSOLE-EXITED")
    });
    assert!(after.contains("OTP-CONSOLE-EXITED 101"), "{after}");
    assert!(
        after.contains("a test panic"),
        "the panic message is shown:\n{after}"
    );
    tmux.assert_restored(&after);
}

/// Log lines written to hold a terminal's layout hostage, one class of character each.
const HOSTILE_LINES: &[&str] = &[
    "[OTP] separators\u{2028}line\u{2029}paragraph",
    "[OTP] soft\u{ad}hy\u{ad}phens every\u{ad}where",
    "[OTP] hangul jamo \u{1100}\u{1161}\u{11a8} lone \u{1161}\u{11a8} end",
    "[OTP] emoji \u{2764}\u{fe0f} \u{263a}\u{fe0f} \u{1f44d}\u{1f3fd} done",
    "[OTP] flags \u{1f1fa}\u{1f1f8}\u{1f1ef}\u{1f1f5} done",
    "[OTP] bidi \u{202e}desrever\u{202c} and \u{2067}isolate\u{2069} done",
    "[OTP] zero\u{200b}width\u{200c}non\u{200d}joiner\u{feff} done",
    "[OTP] wide 日本語のログ行 done",
    "[OTP] zalgo z\u{301}\u{302}\u{303}\u{304}\u{305}a\u{306}\u{307}\u{308} done",
    "[OTP] escapes \u{1b}[2J\u{1b}]0;pwned\u{7} bell\u{7} done",
];

/// The rows of a capture, each with its border columns: every row of the logs pane, zoomed to
/// the whole screen, must end in its border at the last column.
fn misaligned_rows(screen: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    screen
        .lines()
        .filter(|row| row.starts_with('┃') || row.starts_with('│'))
        .filter(|row| {
            let trimmed = row.trim_end();
            !(trimmed.width() == width && (trimmed.ends_with('┃') || trimmed.ends_with('│')))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn tmux_hostile_log_lines_leave_every_border_in_place() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (sim, config) = runtime.block_on(async {
        let sim = otp_console::sim::Simulator::start(
            otp_console::sim::scenario::load("healthy").expect("loads"),
            0.05,
            otp_console::sim::Ports::default(),
        )
        .await
        .expect("starts");
        let config = otp_console::sim::run::config_for(&sim.urls, sim.scenario());
        (sim, config)
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("otp-console.toml");
    std::fs::write(&path, config.to_toml_string().expect("toml")).expect("write");
    // Many lines of each class, so the pane scrolls through them.
    runtime.block_on(async {
        let sdk = otp_console::engine::demo_sdk_config(&config).await;
        let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
        let stream = "ecs/nerava-backend/hostile";
        logs.create_log_stream()
            .log_group_name(&config.aws.log_group)
            .log_stream_name(stream)
            .send()
            .await
            .expect("stream");
        let now = chrono::Utc::now().timestamp_millis();
        let events: Vec<_> = (0..60)
            .map(|i| {
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now - 60_000 + i * 100)
                    .message(format!(
                        "{} #{i}",
                        HOSTILE_LINES[i as usize % HOSTILE_LINES.len()]
                    ))
                    .build()
                    .expect("event")
            })
            .collect();
        logs.put_log_events()
            .log_group_name(&config.aws.log_group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .expect("put");
    });
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let tmux = Tmux::start(&format!(
        "AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} {binary} --config {}; sleep 60",
        otp_console::sim::ACCESS_KEY_ID,
        otp_console::sim::SECRET_ACCESS_KEY,
        path.display()
    ));
    tmux.wait_for("the hostile lines", Duration::from_secs(30), |s| {
        s.contains("#59")
    });
    // The logs pane alone, then scrolled back through every class, wrapped and not.
    tmux.keys(&["3", "z"]);
    let mut screens = vec![
        tmux.wait_for("the zoomed logs", Duration::from_secs(5), |s| {
            s.contains("3 Logs") && !s.contains("1 Checklist")
        }),
    ];
    for keys in [
        &["f"][..],
        &["PageUp"],
        &["PageUp"],
        &["w"],
        &["PageUp"],
        &["g"],
        &["G"],
    ] {
        tmux.keys(keys);
        std::thread::sleep(Duration::from_millis(400));
        screens.push(tmux.screen());
    }
    for screen in &screens {
        let bad = misaligned_rows(screen, 160);
        assert!(
            bad.is_empty(),
            "rows out of place:\n{}\n\nscreen:\n{screen}",
            bad.join("\n")
        );
        assert!(
            !screen.contains("pwned"),
            "an escape sequence got through:\n{screen}"
        );
        assert!(!screen.contains('\u{202e}') && !screen.contains('\u{200b}'));
    }
    drop(sim);
}

/// The SMS provider's demo end to end, as issue 14 asks: the OTP start, the message followed
/// to `delivered` in the Twilio pane and the checklist, the code read off the demo phone and
/// entered, verified, and the verdict `none`; nothing unmasked on screen.
#[test]
fn tmux_sms_demo_send_delivered_code_entered_verified() {
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let tmux = Tmux::start(&format!(
        "{binary} --demo sms-healthy --time-scale 0.05; echo OTP-CONSOLE-EXITED $?; sleep 60"
    ));
    tmux.wait_for("the From number checked", Duration::from_secs(20), |s| {
        s.contains("SMS-capable")
    });
    tmux.keys(&["o"]);
    tmux.wait_for("the confirmation", Duration::from_secs(5), |s| {
        s.contains("Send an OTP through the API")
    });
    tmux.keys(&["Enter"]);
    let delivered = tmux.wait_for("the delivery", Duration::from_secs(30), |s| {
        s.contains("delivered per Twilio") && s.contains("→ delivered")
    });
    for secret in [
        "7133056318",
        "8325550147",
        "AC5f3b1c8e9d2a4f60718293a4b5c6d7e8",
    ] {
        assert!(
            !delivered.contains(secret),
            "{secret} on screen:\n{delivered}"
        );
    }
    // The demo phone's inbox is read every second: the delivered message lands there.
    let screen = tmux.wait_for("the SMS on the demo phone", Duration::from_secs(10), |s| {
        code_on_screen(s).is_some()
    });
    let code = code_on_screen(&screen).expect("the code on the demo phone");
    tmux.keys(&["c"]);
    tmux.wait_for("the code entry", Duration::from_secs(5), |s| {
        s.contains("Enter the SMS code")
    });
    tmux.keys(&[&code, "Enter"]);
    tmux.wait_for("verified and none", Duration::from_secs(20), |s| {
        s.contains("✓ verified") && s.contains("Verdict: none")
    });
    tmux.keys(&["q"]);
    let after = tmux.wait_for("the exit", Duration::from_secs(15), |s| {
        s.contains("OTP-CONSOLE-EXITED")
    });
    assert!(after.contains("OTP-CONSOLE-EXITED 0"), "{after}");
}

/// The runbook's own test in the demo (`event-loop-blocking` at the demo's time scale): the
/// header, sampled every 0.5 s from before `o` until 25 s after the send, shows only
/// `event_loop_blocked` or `inconclusive`. The `/health` probes sent while the OTP start was in
/// flight still hang after the load balancer's 504; they belong to that stall and once made the
/// header say `api_unreachable` for about 5 s.
#[test]
fn tmux_the_demo_verdict_holds_steady_through_the_runbooks_test() {
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let tmux = Tmux::start(&format!(
        "{binary} --demo event-loop-blocking; echo OTP-CONSOLE-EXITED $?; sleep 60"
    ));
    tmux.wait_for("the first probes", Duration::from_secs(30), |s| {
        s.contains("Nerava Production")
    });
    // The header's badge: `verdict: <mode>`, `no failure found` or `inconclusive`.
    let verdict = |screen: &str| {
        let header = screen.lines().next().unwrap_or_default();
        if let Some(rest) = header.split("verdict: ").nth(1) {
            Some(
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            )
        } else if header.contains("no failure found") {
            Some("none".to_owned())
        } else if header.contains("inconclusive") {
            Some("inconclusive".to_owned())
        } else {
            None
        }
    };
    let mut shown: Vec<String> = Vec::new();
    let mut sample = |tmux: &Tmux| {
        if let Some(v) = verdict(&tmux.screen()) {
            if shown.last() != Some(&v) {
                shown.push(v);
            }
        }
    };
    sample(&tmux);
    tmux.keys(&["o"]);
    tmux.wait_for("the confirmation", Duration::from_secs(5), |s| {
        s.contains("Send an OTP through the API")
    });
    tmux.keys(&["Enter"]);
    let sent = Instant::now();
    while sent.elapsed() < Duration::from_secs(25) {
        sample(&tmux);
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        shown
            .iter()
            .all(|v| v == "event_loop_blocked" || v == "inconclusive"),
        "the header showed {shown:?}"
    );
    assert_eq!(
        shown.last().map(String::as_str),
        Some("event_loop_blocked"),
        "{shown:?}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the exit", Duration::from_secs(15), |s| {
        s.contains("OTP-CONSOLE-EXITED")
    });
}

/// #24 as a user sees it: the header names App Runner and the paused service's verdict; the
/// env-file demo lists the file's variables under the container's own, the token masked.
#[test]
fn tmux_apprunner_and_env_file_demos_show_where_the_variables_come_from() {
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let tmux = Tmux::start(&format!("{binary} --demo apprunner-paused; sleep 60"));
    let screen = tmux.wait_for(
        "App Runner's paused verdict",
        Duration::from_secs(30),
        |s| {
            s.lines().next().is_some_and(|h| {
                h.contains("simulated · App Runner · scenario apprunner-paused")
                    && h.contains("verdict: api_unreachable")
            })
        },
    );
    assert!(screen.contains("is PAUSED"), "{screen}");
    drop(tmux);
    let tmux = Tmux::start(&format!("{binary} --demo env-file; sleep 60"));
    let screen = tmux.wait_for("the env file's variables", Duration::from_secs(30), |s| {
        s.contains("└ from s3://nerava-config/prod/otp.env") && s.contains("no failure found")
    });
    assert!(
        !screen.contains("9c1e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"),
        "{screen}"
    );
    assert!(!screen.contains("App Runner"), "{screen}");
}

/// #26 as a user sees it: in the runbook's incident, `o`, the 504, then `T`: the trace joins
/// the request and its 504, the `/health` probes that stalled beside it, the backend's line
/// for 6318 and Twilio's Verify attempt, at 160×48 and at 80×24.
#[test]
fn tmux_t_traces_the_otp_start_through_the_504() {
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let tmux = Tmux::start(&format!(
        "{binary} --demo event-loop-blocking --time-scale 0.05; sleep 60"
    ));
    tmux.wait_for("the env pane", Duration::from_secs(30), |s| {
        s.contains("TWILIO_VERIFY_SERVICE_SID")
    });
    tmux.keys(&["o"]);
    tmux.wait_for("the confirmation", Duration::from_secs(5), |s| {
        s.contains("Send an OTP through the API")
    });
    tmux.keys(&["Enter"]);
    // Opened while the start is in flight: the hops fill in as they come.
    tmux.wait_for("the start in flight", Duration::from_secs(5), |s| {
        s.contains("in flight")
    });
    tmux.keys(&["T"]);
    let whole = |s: &str| {
        s.contains("Trace · OTP start to •6318")
            && s.contains("request  504 after")
            && s.contains("stalled")
            && s.contains("OTP sent successfully phone_last4=6318")
            && s.contains("Verify attempt")
    };
    // The window is drawn from the evidence as it comes: the hops fill in.
    tmux.wait_for("the whole trace", Duration::from_secs(30), whole);
    tmux.resize(80, 24);
    let small = tmux.wait_for("the trace at 80×24", Duration::from_secs(5), |s| {
        s.lines().count() <= 24 && s.contains("Trace · OTP start to •6318") && s.contains("/health")
    });
    assert!(small.lines().all(|l| l.chars().count() <= 80), "{small}");
    assert!(
        small.contains("twilio") && small.contains("request"),
        "{small}"
    );
}

/// A running `otp-console sim` on `scenario`, killed when dropped, and the config it wrote.
struct SimProcess {
    child: std::process::Child,
    config: String,
}

impl SimProcess {
    fn start(scenario: &str, dir: &std::path::Path) -> Self {
        let path = dir.join(format!("{scenario}.toml"));
        let child = Command::new(env!("CARGO_BIN_EXE_otp-console"))
            .args([
                "sim",
                "--scenario",
                scenario,
                "--time-scale",
                "0.05",
                "--write-config",
            ])
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("otp-console sim");
        let deadline = Instant::now() + Duration::from_secs(30);
        let config = loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if text.contains("[changes]") {
                    break text;
                }
            }
            assert!(Instant::now() < deadline, "the simulator wrote no config");
            std::thread::sleep(Duration::from_millis(100));
        };
        Self { child, config }
    }

    /// Its config as the context `name`'s tables.
    fn as_context(&self, name: &str) -> String {
        self.config
            .lines()
            .map(|l| match l.strip_prefix('[') {
                Some(rest) => format!("[contexts.{name}.{rest}"),
                None => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// #25: one file, two targets (two simulators); the header names the context watched, and
/// `x` switches to the other live: its verdict follows.
#[test]
fn tmux_x_switches_contexts_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    let healthy = SimProcess::start("healthy", dir.path());
    let broken = SimProcess::start("missing-env-vars", dir.path());
    let path = dir.path().join("contexts.toml");
    std::fs::write(
        &path,
        format!(
            "default_context = \"staging\"\n{}\n[contexts.staging]\ncolor = \"green\"\n{}\n[contexts.prod]\ncolor = \"red\"\n",
            healthy.as_context("staging"),
            broken.as_context("prod")
        ),
    )
    .expect("config");
    let binary = env!("CARGO_BIN_EXE_otp-console");
    let tmux = Tmux::start(&format!(
        "AWS_ACCESS_KEY_ID=AKIASIMULATOR0000001 AWS_SECRET_ACCESS_KEY=simulator-secret-access-key {binary} --config {}; sleep 60",
        path.display()
    ));
    tmux.wait_for("the staging context", Duration::from_secs(30), |s| {
        s.lines().next().is_some_and(|h| h.starts_with(" staging "))
    });
    tmux.keys(&["x"]);
    tmux.wait_for("the picker", Duration::from_secs(5), |s| {
        s.contains("Context") && s.contains("prod") && s.contains("demo")
    });
    // staging is selected; prod is the row above it.
    tmux.keys(&["Up"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("prod's verdict", Duration::from_secs(40), |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.starts_with(" prod ") && h.contains("verdict: missing_env_vars"))
    });
}

/// #25: `otp-console init` in a terminal: the services that read the runbook's variables in a
/// numbered list (the worker and the cron task passed over, with why), a wrong answer asked
/// again, the pick's base URL checked, and the file written; the console then opens on it.
#[test]
fn tmux_init_lists_the_services_and_writes_the_one_picked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = SimProcess::start("healthy", dir.path());
    let endpoint = sim
        .config
        .lines()
        .find_map(|l| l.strip_prefix("endpoint_url = "))
        .expect("the simulator's AWS endpoint")
        .trim_matches('"')
        .to_owned();
    let path = dir.path().join("otp-console.toml");
    let binary = env!("CARGO_BIN_EXE_otp-console");
    // https goes to a closed loopback proxy: the account's https URLs are never reached.
    let env = "AWS_ACCESS_KEY_ID=AKIASIMULATOR0000001 AWS_SECRET_ACCESS_KEY=simulator-secret-access-key AWS_EC2_METADATA_DISABLED=true HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1";
    let tmux = Tmux::start(&format!(
        "{env} {binary} init --region us-east-1 --endpoint-url {endpoint} --config {}; sleep 60",
        path.display()
    ));
    let screen = tmux.wait_for("the picker", Duration::from_secs(30), |s| {
        s.contains("Pick one [1-2]")
    });
    assert!(
        screen.contains("1) ECS nerava-cluster/nerava-backend")
            && screen.contains("2) ECS nerava-staging/nerava-backend-staging")
            && screen.contains("passed over: ECS nerava-cluster/nerava-worker"),
        "{screen}"
    );
    tmux.keys(&["3", "Enter"]);
    tmux.wait_for("asked again", Duration::from_secs(5), |s| {
        s.contains("3 is not a number from 1 to 2")
    });
    tmux.keys(&["1", "Enter"]);
    let screen = tmux.wait_for("the file written", Duration::from_secs(30), |s| {
        s.contains("wrote ")
    });
    assert!(screen.contains("/health"), "{screen}");
    let written = std::fs::read_to_string(&path).expect("written");
    assert!(
        written.contains("service = \"nerava-backend\""),
        "{written}"
    );
    assert!(written.contains("200 in"), "{written}");
}
