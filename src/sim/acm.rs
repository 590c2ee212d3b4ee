//! Simulated AWS Certificate Manager (JSON 1.1, `X-Amz-Target: CertificateManager.<Op>`): the
//! certificate the load balancer's HTTPS listener serves, issued for the API's host. Answers
//! DescribeCertificate, with ACM's own errors for an unknown or malformed ARN.

use serde::Deserialize;
use serde_json::{json, Value};

use super::aws::{epoch, parse_body, AwsError};
use super::world::World;

/// The host the API is served on, as the certificate names it.
pub const API_HOST: &str = "api.nerava.network";

/// The operation (`CertificateManager.X`) of an `X-Amz-Target`.
pub fn operation(target: &str) -> Option<&str> {
    target.strip_prefix("CertificateManager.")
}

/// The certificate's ARN.
pub fn certificate_arn(world: &World) -> String {
    let d = &world.scenario.deployment;
    format!(
        "arn:aws:acm:{}:{}:certificate/5f0c2e8a-61b4-4a57-9d3e-7c1b2a4f8e90",
        d.region, d.account_id
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeInput {
    certificate_arn: Option<String>,
}

impl World {
    /// Handles one ACM operation.
    pub fn acm_handle(&self, op: &str, body: &[u8]) -> Result<Value, AwsError> {
        if op != "DescribeCertificate" {
            return Err(AwsError::client(
                "UnknownOperationException",
                format!("The simulated ACM does not implement {op}"),
            ));
        }
        let input: DescribeInput = parse_body(body)?;
        let Some(arn) = input.certificate_arn else {
            return Err(AwsError::client(
                "ValidationException",
                "1 validation error detected: Value null at 'certificateArn' failed to satisfy constraint: Member must not be null",
            ));
        };
        if !arn.starts_with("arn:aws:acm:") {
            return Err(AwsError::client(
                "InvalidArnException",
                format!("String '{arn}' is not a valid ARN."),
            ));
        }
        if arn != certificate_arn(self) {
            return Err(AwsError::client(
                "ResourceNotFoundException",
                format!("Could not find certificate with arn {arn}"),
            ));
        }
        let issued = self.service.created_ms - 30 * 86_400_000;
        let domain = API_HOST.split_once('.').map_or(API_HOST, |(_, d)| d);
        Ok(json!({ "Certificate": {
            "CertificateArn": arn,
            "DomainName": API_HOST,
            "SubjectAlternativeNames": [API_HOST, format!("*.{domain}")],
            "Serial": "0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9",
            "Subject": format!("CN={API_HOST}"),
            "Issuer": "Amazon",
            "CreatedAt": epoch(issued),
            "IssuedAt": epoch(issued),
            "Status": "ISSUED",
            "NotBefore": epoch(issued),
            "NotAfter": epoch(issued + 395 * 86_400_000),
            "KeyAlgorithm": "RSA_2048",
            "SignatureAlgorithm": "SHA256WITHRSA",
            "InUseBy": [super::elbv2::load_balancer_arn(self)],
            "Type": "AMAZON_ISSUED",
            "KeyUsages": [{ "Name": "DIGITAL_SIGNATURE" }, { "Name": "KEY_ENCIPHERMENT" }],
            "ExtendedKeyUsages": [{ "Name": "TLS_WEB_SERVER_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.1" }],
            "RenewalEligibility": "ELIGIBLE",
            "Options": { "CertificateTransparencyLoggingPreference": "ENABLED" },
        }}))
    }
}
