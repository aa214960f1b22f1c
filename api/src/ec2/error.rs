//! The one place internal errors become EC2 error codes and HTTP statuses.
//! Internal details (paths, storage errors, panics) never reach a client:
//! they are logged with the request id the client sees.

use crate::app::ExecuteError;
use crate::auth::AuthError;
use crate::ec2::xml::Xml;
use axum::http::StatusCode;
use domain::DecideError;

/// An EC2 error: code, message and HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    pub code: &'static str,
    pub message: String,
    pub status: StatusCode,
}

impl Ec2Error {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let status = match code {
            "AuthFailure" => StatusCode::UNAUTHORIZED,
            "SignatureDoesNotMatch" | "UnauthorizedOperation" | "OptInRequired" => StatusCode::FORBIDDEN,
            "InternalError" => StatusCode::INTERNAL_SERVER_ERROR,
            "Unavailable" | "InsufficientInstanceCapacity" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        Ec2Error { code, message: message.into(), status }
    }

    pub fn missing(parameter: &str) -> Self {
        Ec2Error::new("MissingParameter", format!("The request must contain the parameter {parameter}"))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Ec2Error::new("InvalidParameterValue", message)
    }

    pub fn internal() -> Self {
        Ec2Error::new("InternalError", "An internal error has occurred")
    }

    /// The EC2 error document.
    pub fn to_xml(&self, request_id: &str) -> String {
        let mut x = Xml::bare("Response");
        x.open("Errors").open("Error").text("Code", self.code).text("Message", &self.message).close().close();
        x.text("RequestID", request_id);
        x.finish()
    }
}

fn quoted_list<T: std::fmt::Display>(ids: &[T]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

impl From<DecideError> for Ec2Error {
    fn from(e: DecideError) -> Self {
        use DecideError::*;
        match e {
            ImageNotFound(id) => {
                Ec2Error::new("InvalidAMIID.NotFound", format!("The image id '[{id}]' does not exist"))
            }
            NotAMachineImage(id) => Ec2Error::invalid(format!("The image '{id}' is not a machine image")),
            UnknownInstanceType(t) => Ec2Error::invalid(format!("The instance type '{t}' does not exist")),
            InvalidCount { min, max } => Ec2Error::invalid(format!(
                "Invalid instance count: MinCount ({min}) must be at least 1 and not more than MaxCount ({max})"
            )),
            UnknownZone(z) => Ec2Error::invalid(format!("Invalid availability zone: [{z}]")),
            InsufficientCapacity { zone, vm_type, requested, available } => Ec2Error::new(
                "InsufficientInstanceCapacity",
                format!(
                    "There is not enough capacity to fulfill your request for {requested} {vm_type} \
                     instance(s) in {zone} (room for {available})."
                ),
            ),
            InstanceNotFound(ids) if ids.len() == 1 => Ec2Error::new(
                "InvalidInstanceID.NotFound",
                format!("The instance ID '{}' does not exist", ids[0]),
            ),
            InstanceNotFound(ids) => Ec2Error::new(
                "InvalidInstanceID.NotFound",
                format!("The instance IDs '{}' do not exist", quoted_list(&ids)),
            ),
            IncorrectInstanceState { instance, state, action } => Ec2Error::new(
                "IncorrectInstanceState",
                format!("The instance '{instance}' is {state}; it cannot {action}."),
            ),
            IdempotentParameterMismatch { token } => Ec2Error::new(
                "IdempotentParameterMismatch",
                format!("The client token '{token}' was already used with different parameters"),
            ),
            AccountNotFound(a) => Ec2Error::new("AuthFailure", format!("Account {a} does not exist")),
            CloudNotInitialized => Ec2Error::new("Unavailable", "The cloud is not initialized yet"),
            other => {
                tracing::warn!(error = %other, "refusal without a specific EC2 code");
                Ec2Error::invalid(other.to_string())
            }
        }
    }
}

impl From<ExecuteError> for Ec2Error {
    fn from(e: ExecuteError) -> Self {
        match e {
            ExecuteError::Refused(d) => d.into(),
            other => {
                tracing::error!(error = %other, "command failed");
                Ec2Error::internal()
            }
        }
    }
}

impl From<AuthError> for Ec2Error {
    fn from(e: AuthError) -> Self {
        Ec2Error::new(e.ec2_code(), e.to_string())
    }
}
