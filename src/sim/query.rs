//! AWS's Query protocol on the simulator's AWS endpoint, as EC2, Elastic Load Balancing v2 and
//! IAM speak it: a form-encoded POST (`Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1=…`)
//! answered in XML. The service is the one the caller signed for (the SigV4 credential scope,
//! `…/us-east-1/ec2/aws4_request`), else the one the `Version` names, so one
//! `aws.endpoint_url` serves them beside the JSON services, as moto does.
//!
//! This module is the protocol only: [`QueryRequest`] reads the flattened parameters
//! (`Name.N`, `Name.N.Field`, ELB's `Name.member.N`), [`Xml`] writes escaped answers, and
//! [`error_body`] writes each service's XML error shape. What an action does lives with its
//! service.

use std::fmt::Write as _;

use axum::http::StatusCode;

use super::aws::AwsError;

/// EC2's API version, the one every current SDK and the aws CLI send.
pub const EC2_VERSION: &str = "2016-11-15";
/// Elastic Load Balancing v2's API version.
pub const ELBV2_VERSION: &str = "2015-12-01";
/// IAM's API version.
pub const IAM_VERSION: &str = "2010-05-08";

/// The services the simulator answers in the Query protocol, by their SigV4 signing name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryService {
    /// `ec2`
    Ec2,
    /// `elasticloadbalancing` (v2)
    Elbv2,
    /// `iam`
    Iam,
}

impl QueryService {
    /// The service a request is for: its signing name when the signature names one the
    /// simulator serves, else the API version it sends.
    pub fn identify(signing_name: Option<&str>, version: &str) -> Option<Self> {
        match signing_name {
            Some("ec2") => Some(Self::Ec2),
            Some("elasticloadbalancing") => Some(Self::Elbv2),
            Some("iam") => Some(Self::Iam),
            _ => match version {
                EC2_VERSION => Some(Self::Ec2),
                ELBV2_VERSION => Some(Self::Elbv2),
                IAM_VERSION => Some(Self::Iam),
                _ => None,
            },
        }
    }

    /// The IAM prefix of its actions (`ec2:DescribeSecurityGroups`).
    pub fn iam_prefix(self) -> &'static str {
        match self {
            Self::Ec2 => "ec2",
            Self::Elbv2 => "elasticloadbalancing",
            Self::Iam => "iam",
        }
    }

    /// The XML namespace of its answers.
    pub fn xmlns(self) -> &'static str {
        match self {
            Self::Ec2 => "http://ec2.amazonaws.com/doc/2016-11-15/",
            Self::Elbv2 => "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
            Self::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
        }
    }
}

/// The service name of a SigV4 `Authorization` header's credential scope
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
pub fn signing_name(authorization: &str) -> Option<&str> {
    scope_part(authorization, 3)
}

/// The region a SigV4 `Authorization` header was signed for (its credential scope's third
/// part: `Credential=AKID/20261207/us-west-2/logs/aws4_request`).
pub fn signing_region(authorization: &str) -> Option<&str> {
    scope_part(authorization, 2)
}

fn scope_part(authorization: &str, index: usize) -> Option<&str> {
    let credential = authorization.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    scope.split('/').nth(index).filter(|s| !s.is_empty())
}

/// A decoded Query request: its action, its version and its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    pub action: String,
    pub version: String,
    pub params: Params,
}

impl QueryRequest {
    /// Decodes a form body; a body without `Action` is not a Query request.
    pub fn parse(body: &[u8]) -> Result<Self, AwsError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let params = Params { pairs };
        let action = params
            .get("Action")
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                AwsError::client(
                    "MissingAction",
                    "The request must contain the parameter Action.",
                )
            })?
            .to_owned();
        let version = params.get("Version").unwrap_or_default().to_owned();
        Ok(Self {
            action,
            version,
            params,
        })
    }
}

/// Flattened Query parameters, or one member's share of them (its prefix removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The value of one parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter in order, as sent.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// A required parameter, or the error AWS sends without it.
    pub fn required(&self, name: &str) -> Result<&str, AwsError> {
        self.get(name).ok_or_else(|| {
            AwsError::client(
                "MissingParameter",
                format!("The request must contain the parameter {name}"),
            )
        })
    }

    /// An integer parameter; a value that is not one is `InvalidParameterValue`.
    pub fn int(&self, name: &str) -> Result<Option<i64>, AwsError> {
        self.get(name)
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    AwsError::client(
                        "InvalidParameterValue",
                        format!(
                            "Value ({v}) for parameter {name} is invalid. Expected an integer."
                        ),
                    )
                })
            })
            .transpose()
    }

    /// The members of a list of scalars, `Name.1`, `Name.2`, … in index order (EC2 style;
    /// ELB's is `list("Name.member")`).
    pub fn list(&self, name: &str) -> Vec<&str> {
        let mut items: Vec<(u32, &str)> = self
            .pairs
            .iter()
            .filter_map(|(k, v)| {
                let index = k.strip_prefix(name)?.strip_prefix('.')?;
                Some((index.parse().ok()?, v.as_str()))
            })
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// The members of a list of structures, `Name.N.Field…`, each with its `Name.N.` prefix
    /// removed, in index order.
    pub fn structs(&self, name: &str) -> Vec<Params> {
        let mut members: Vec<(u32, Params)> = Vec::new();
        for (k, v) in &self.pairs {
            let Some(rest) = k.strip_prefix(name).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse::<u32>() else {
                continue;
            };
            let pair = (field.to_owned(), v.clone());
            match members.iter_mut().find(|(i, _)| *i == index) {
                Some((_, member)) => member.pairs.push(pair),
                None => members.push((index, Params { pairs: vec![pair] })),
            }
        }
        members.sort_by_key(|(i, _)| *i);
        members.into_iter().map(|(_, p)| p).collect()
    }

    /// EC2's `Filter.N.Name` / `Filter.N.Value.M` filters as (name, values).
    pub fn filters(&self) -> Vec<(String, Vec<String>)> {
        self.structs("Filter")
            .into_iter()
            .filter_map(|f| {
                let name = f.get("Name")?.to_owned();
                let values = f.list("Value").into_iter().map(str::to_owned).collect();
                Some((name, values))
            })
            .collect()
    }
}

/// Escapes text for an XML element or attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A small XML writer: elements nest through closures, text is always escaped.
#[derive(Debug, Default)]
pub struct Xml {
    out: String,
}

impl Xml {
    /// A document whose root element carries the service's namespace.
    pub fn document(root: &str, xmlns: &str, body: impl FnOnce(&mut Xml)) -> String {
        let mut xml = Xml {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        };
        let _ = write!(xml.out, "<{root} xmlns=\"{}\">", escape(xmlns));
        body(&mut xml);
        let _ = write!(xml.out, "</{root}>");
        xml.out
    }

    /// An element holding other elements.
    pub fn elem(&mut self, name: &str, body: impl FnOnce(&mut Xml)) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        body(self);
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// An element holding text.
    pub fn leaf(&mut self, name: &str, text: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.out, "<{name}>{}</{name}>", escape(&text.to_string()));
        self
    }

    /// An element holding text, written only when there is some.
    pub fn opt(&mut self, name: &str, text: Option<impl std::fmt::Display>) -> &mut Self {
        if let Some(text) = text {
            self.leaf(name, text);
        }
        self
    }
}

/// The request id every answer carries: unique in this process, UUID-shaped as AWS's are.
pub fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("5e1a0000-0000-4000-8000-{n:012x}")
}

/// The XML body of an error, in the service's own shape: EC2's
/// `<Response><Errors><Error>…</Error></Errors><RequestID>…` or the
/// `<ErrorResponse><Error><Type>…` of the other Query services.
pub fn error_body(service: Option<QueryService>, error: &AwsError) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let code = escape(&error.kind);
    let message = escape(&error.message);
    let id = request_id();
    if service == Some(QueryService::Ec2) {
        let _ = write!(
            out,
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{id}</RequestID></Response>"
        );
    } else {
        let kind = if error.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let xmlns = service.map(QueryService::xmlns).unwrap_or_default();
        let _ = write!(
            out,
            "<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>"
        );
    }
    out
}

/// The answer to an action the simulated service does not implement, as AWS words it.
pub fn invalid_action(service: QueryService, action: &str) -> AwsError {
    AwsError {
        status: StatusCode::BAD_REQUEST,
        kind: "InvalidAction".into(),
        message: format!(
            "The action {action} is not valid for this web service ({}).",
            service.iam_prefix()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flattened_lists_and_structures_in_index_order() {
        let body = "Action=AuthorizeSecurityGroupEgress&Version=2016-11-15&GroupId=sg-1\
            &IpPermissions.2.IpProtocol=udp&IpPermissions.1.IpProtocol=tcp\
            &IpPermissions.1.FromPort=443&IpPermissions.1.ToPort=443\
            &IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0%2F0\
            &IpPermissions.1.IpRanges.1.Description=Twilio+API\
            &GroupId.10=sg-c&GroupId.2=sg-b&GroupId.1=sg-a";
        let request = QueryRequest::parse(body.as_bytes()).unwrap();
        assert_eq!(request.action, "AuthorizeSecurityGroupEgress");
        assert_eq!(request.version, EC2_VERSION);
        assert_eq!(request.params.get("GroupId"), Some("sg-1"));
        assert_eq!(request.params.list("GroupId"), ["sg-a", "sg-b", "sg-c"]);
        let perms = request.params.structs("IpPermissions");
        assert_eq!(perms.len(), 2);
        assert_eq!(perms[0].get("IpProtocol"), Some("tcp"));
        assert_eq!(perms[0].int("FromPort").unwrap(), Some(443));
        let ranges = perms[0].structs("IpRanges");
        assert_eq!(ranges[0].get("CidrIp"), Some("0.0.0.0/0"));
        assert_eq!(ranges[0].get("Description"), Some("Twilio API"));
        assert_eq!(perms[1].get("IpProtocol"), Some("udp"));
        assert!(perms[1].structs("IpRanges").is_empty());
    }

    #[test]
    fn reads_elb_member_lists_and_ec2_filters() {
        let body = "Action=DescribeTargetHealth&Version=2015-12-01\
            &TargetGroupArns.member.2=arn-b&TargetGroupArns.member.1=arn-a\
            &Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2";
        let request = QueryRequest::parse(body.as_bytes()).unwrap();
        assert_eq!(
            request.params.list("TargetGroupArns.member"),
            ["arn-a", "arn-b"]
        );
        assert_eq!(
            request.params.filters(),
            [(
                "vpc-id".to_owned(),
                vec!["vpc-1".to_owned(), "vpc-2".to_owned()]
            )]
        );
    }

    #[test]
    fn refuses_what_is_not_a_query_request() {
        assert_eq!(
            QueryRequest::parse(b"{\"json\":true}").unwrap_err().kind,
            "MissingAction"
        );
        assert_eq!(
            QueryRequest::parse(b"Version=2016-11-15").unwrap_err().kind,
            "MissingAction"
        );
        let bad = QueryRequest::parse(b"Action=X&MaxResults=ten").unwrap();
        assert_eq!(
            bad.params.int("MaxResults").unwrap_err().kind,
            "InvalidParameterValue"
        );
        assert!(bad.params.required("GroupId").is_err());
    }

    #[test]
    fn knows_the_service_from_the_signature_before_the_version() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(signing_name(auth), Some("ec2"));
        assert_eq!(
            QueryService::identify(Some("elasticloadbalancing"), EC2_VERSION),
            Some(QueryService::Elbv2)
        );
        assert_eq!(
            QueryService::identify(None, ELBV2_VERSION),
            Some(QueryService::Elbv2)
        );
        assert_eq!(QueryService::identify(Some("logs"), "2099-01-01"), None);
    }

    #[test]
    fn writes_escaped_xml_and_each_services_error_shape() {
        let doc = Xml::document(
            "DescribeSecurityGroupsResponse",
            QueryService::Ec2.xmlns(),
            |x| {
                x.leaf("requestId", "r-1").elem("securityGroupInfo", |x| {
                    x.elem("item", |x| {
                        x.leaf("groupName", "a<b>&\"c\"\u{1b}[31m")
                            .opt("description", None::<&str>);
                    });
                });
            },
        );
        assert!(doc.contains("<groupName>a&lt;b&gt;&amp;&quot;c&quot;[31m</groupName>"));
        assert!(!doc.contains("description"));
        assert!(doc.starts_with("<?xml"));
        let error = AwsError::client(
            "InvalidGroup.NotFound",
            "The security group 'sg-1' does not exist",
        );
        let ec2 = error_body(Some(QueryService::Ec2), &error);
        assert!(ec2.contains("<Response><Errors><Error><Code>InvalidGroup.NotFound</Code>"));
        assert!(ec2.contains("<RequestID>"));
        let elb = error_body(Some(QueryService::Elbv2), &error);
        assert!(elb.contains("<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>Sender</Type>"));
        assert!(elb.contains("<RequestId>"));
    }
}
