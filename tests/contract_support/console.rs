//! The console without a terminal, shared by tests/console_repair.rs and
//! tests/console_settles.rs: the real [`Runner`] on the embedded simulator (or on a config of
//! the test's), its events fed to [`App::update`] and the commands update returns handed back
//! to the runner — exactly what the event loop does, with keys as events.

// Each test binary uses its own part of the harness.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use otp_console::app::{App, Command};
use otp_console::config::Config;
use otp_console::diagnosis::Names;
use otp_console::event::Event;
use otp_console::runner::Runner;
use tokio::sync::mpsc;

pub const SCALE: f64 = 0.05;

pub struct Console {
    pub app: App,
    pub runner: Runner,
    pub rx: mpsc::UnboundedReceiver<Event>,
}

impl Console {
    pub async fn demo(scenario: &str) -> Self {
        Box::pin(Self::demo_at(scenario, SCALE)).await
    }

    /// The demo at time scale `scale` (rollouts are followed at the same scale).
    pub async fn demo_at(scenario: &str, scale: f64) -> Self {
        // Boxed: the console's state is held across awaits, and callers need not carry it.
        Box::pin(Self::start_demo(scenario, scale)).await
    }

    async fn start_demo(scenario: &str, scale: f64) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut runner = Runner::new(tx, scale);
        runner.start_demo(scenario).await.expect("the demo starts");
        let app = App::new(Names::from_config(&Config::default()), Vec::new(), now_ms());
        Box::pin(Self::started(app, runner, rx)).await
    }

    /// The console once the runner has announced its target.
    async fn started(app: App, runner: Runner, rx: mpsc::UnboundedReceiver<Event>) -> Self {
        let mut console = Self { app, runner, rx };
        console
            .until("the target", Duration::from_secs(10), |app| {
                app.target.is_some()
            })
            .await;
        console
    }

    pub async fn run(&mut self, commands: Vec<Command>) {
        for command in commands {
            self.runner.handle(command).await;
        }
    }

    pub async fn key(&mut self, code: KeyCode) {
        let commands = self
            .app
            .update(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        self.run(commands).await;
    }

    pub async fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c)).await;
        }
    }

    /// One event (or a tick after 100 ms without one) into the app, its commands run.
    async fn step(&mut self) {
        let event = tokio::time::timeout(Duration::from_millis(100), self.rx.recv()).await;
        let commands = match event {
            Ok(Some(event)) => self.app.update(event),
            Ok(None) => panic!("the runner stopped"),
            Err(_) => self.app.update(Event::Tick(now_ms())),
        };
        self.run(commands).await;
    }

    /// Pumps events into the app (with ticks) for `span`, asserting `ok` after each one: what
    /// must stay true (a verdict that must not flicker back).
    pub async fn holds(&mut self, what: &str, span: Duration, ok: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + span;
        while Instant::now() < deadline {
            assert!(
                ok(&self.app),
                "{what} stopped holding: verdict {:?} ({:?}), unknown {:?}",
                self.app.diagnosis.verdict.failure_mode,
                self.app
                    .diagnosis
                    .verdict
                    .candidates
                    .first()
                    .map(|f| &f.evidence),
                self.app.diagnosis.unknown,
            );
            Box::pin(self.step()).await;
        }
    }

    /// Pumps events into the app (with ticks) until `done` holds.
    pub async fn until(&mut self, what: &str, within: Duration, done: impl Fn(&App) -> bool) {
        let deadline = Instant::now() + within;
        while !done(&self.app) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; verdict {:?} ({:?}), unknown {:?}, repair {:?}, notice {:?}",
                self.app.diagnosis.verdict.failure_mode,
                self.app.diagnosis.verdict.candidates.first().map(|f| &f.evidence),
                self.app.diagnosis.unknown,
                self.app.repair.as_ref().map(|f| &f.stage),
                self.app.notice
            );
            Box::pin(self.step()).await;
        }
    }

    /// The console watching `config` with the AWS configuration `sdk`.
    pub async fn live(config: Config, sdk: aws_config::SdkConfig) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut runner = Runner::new(tx, 1.0);
        let names = Names::from_config(&config);
        runner
            .start_with(config, sdk)
            .await
            .expect("the runner starts");
        let app = App::new(names, Vec::new(), now_ms());
        Box::pin(Self::started(app, runner, rx)).await
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
