//! A running simulator as the console sees it: the configuration that points the console (or
//! `check`, or a test) at it. `otp-console sim` itself is the `cmd` module's.

use crate::config::Config;

use super::{scenario, Urls};

/// A configuration that points the console at a running simulator.
pub fn config_for(urls: &Urls, scenario: &scenario::Scenario) -> Config {
    let mut config = Config::default();
    config.api.base_url.clone_from(&urls.api);
    config
        .api
        .test_phone
        .clone_from(&scenario.twilio.demo_phone);
    config.aws.region.clone_from(&scenario.deployment.region);
    config.aws.endpoint_url = Some(urls.aws.clone());
    config.aws.cluster.clone_from(&scenario.deployment.cluster);
    config.aws.service.clone_from(&scenario.deployment.service);
    // On App Runner the service is named by its ARN, as App Runner's API takes it.
    if let Some(apprunner) = &scenario.apprunner {
        config.aws.platform = crate::config::Platform::AppRunner;
        let d = &scenario.deployment;
        config.aws.service = format!(
            "arn:aws:apprunner:{}:{}:service/{}/{}",
            d.region, d.account_id, d.service, apprunner.service_id
        );
    }
    config
        .aws
        .log_group
        .clone_from(&scenario.deployment.log_group);
    config
        .aws
        .log_region
        .clone_from(&scenario.deployment.log_region);
    config.twilio.api_url.clone_from(&urls.twilio);
    config.twilio.verify_url.clone_from(&urls.twilio);
    config.twilio.status_url.clone_from(&urls.status);
    config.twilio.messaging_url.clone_from(&urls.twilio);
    config.twilio.monitor_url.clone_from(&urls.twilio);
    config
}
