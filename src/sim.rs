//! The simulated environment (`otp-console sim`, the demo, every test's fixture).
//!
//! Real HTTP servers on 127.0.0.1 speaking the real wire protocols, so the console's real
//! clients (reqwest, the AWS SDK with an endpoint override, curl, the aws CLI) run unchanged
//! against it. Scenarios reproduce each runbook failure by cause: the backend's behaviour comes
//! from the task-definition revision that is deployed, never from a scenario switch.

/// AWS JSON 1.1 endpoint: `X-Amz-Target` dispatch, credentials, AWS-shaped errors.
pub mod aws;
/// Scaled simulated time.
pub mod clock;
/// Atlassian Statuspage's public API, as Twilio's status page serves it.
pub mod statuspage;
/// Twilio: Api v2010 accounts and Verify v2 (services, verifications, checks), demo inboxes.
pub mod twilio;
