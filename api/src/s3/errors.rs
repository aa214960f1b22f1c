//! Refusals as S3 answers them: the domain's reasons with S3's codes, the
//! log's unavailability as 503, and every refusal of a known caller
//! recorded in the audit trail like EC2's.

use super::{Walrus, Who};
use crate::app::{ExecuteError, Executed};
use domain::{Command, DecideError};
use s3s::{S3Error, S3ErrorCode, S3Result};

/// S3's error for a refusal of the domain.
pub fn refusal(e: &DecideError) -> S3Error {
    use DecideError::*;
    let code = match e {
        NoSuchBucket(_) => S3ErrorCode::NoSuchBucket,
        BucketAlreadyExists(_) => S3ErrorCode::BucketAlreadyExists,
        BucketAlreadyOwnedByYou(_) => S3ErrorCode::BucketAlreadyOwnedByYou,
        BucketNotEmpty(_) => S3ErrorCode::BucketNotEmpty,
        NoSuchKey { .. } => S3ErrorCode::NoSuchKey,
        NoSuchVersion { .. } => S3ErrorCode::NoSuchVersion,
        NoSuchUpload(_) => S3ErrorCode::NoSuchUpload,
        InvalidPart { .. } => S3ErrorCode::InvalidPart,
        InvalidPartOrder => S3ErrorCode::InvalidPartOrder,
        EntityTooSmall { .. } => S3ErrorCode::EntityTooSmall,
        AccessDenied(_) => S3ErrorCode::AccessDenied,
        PreconditionFailed(_) => S3ErrorCode::PreconditionFailed,
        InvalidBucketRequest(_) => S3ErrorCode::InvalidRequest,
        InvalidObjectRequest(_) => S3ErrorCode::InvalidRequest,
        other => {
            tracing::warn!(error = %other, "refusal without a specific S3 code");
            S3ErrorCode::InvalidRequest
        }
    };
    S3Error::with_message(code, capitalized(&e.to_string()))
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// S3's error for a command that failed other than by refusal.
fn failure(e: &ExecuteError) -> S3Error {
    match crate::ec2::error::unavailable(e) {
        Some(why) => {
            tracing::warn!(error = %e, "a change was refused: the cloud cannot store it now");
            S3Error::with_message(
                S3ErrorCode::ServiceUnavailable,
                format!("The cloud cannot store changes now: {why}"),
            )
        }
        None => {
            tracing::error!(error = %e, "command failed");
            S3Error::with_message(
                S3ErrorCode::InternalError,
                "We encountered an internal error. Please try again.",
            )
        }
    }
}

impl Walrus {
    /// Runs `command` for `who`: what it did, or S3's error.
    pub(crate) async fn execute(&self, who: &Who, command: Command) -> S3Result<Executed> {
        match self.app.execute(command, &who.meta).await {
            Ok(executed) => Ok(executed),
            Err(ExecuteError::Refused(reason)) => Err(refusal(&reason)),
            Err(other) => Err(failure(&other)),
        }
    }

    /// Records the refusal in `result` in the audit trail when it is
    /// one to record (a change refused for any reason but the cloud's, or
    /// AccessDenied of anything) and the caller is known (an anonymous
    /// request names no one, as with EC2's unsigned requests).
    pub(crate) async fn audit<T>(
        &self,
        who: S3Result<Who>,
        action: &str,
        changes: bool,
        resources: &[String],
        result: S3Result<T>,
    ) -> S3Result<T> {
        let mut result = result;
        if let Err(answer) = &mut result
            && answer.request_id().is_none()
        {
            // S3's error XML names the request, as its audit record does.
            let id = who.as_ref().map_or_else(|_| self.app.ids.request_id(), |w| w.meta.request_id.clone());
            let mut headers = answer.headers().cloned().unwrap_or_default();
            if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
                headers.insert("x-amz-request-id", value);
            }
            answer.set_headers(headers);
            answer.set_request_id(id);
        }
        let (Err(answer), Ok(who)) = (&result, who) else { return result };
        let wanted = match answer.code() {
            S3ErrorCode::InternalError | S3ErrorCode::ServiceUnavailable | S3ErrorCode::NotModified => false,
            S3ErrorCode::AccessDenied => true,
            _ => changes,
        };
        if !wanted || who.account().is_none() {
            return result;
        }
        let refused = domain::event::RequestRefused::new(
            answer.code().as_str(),
            answer.message().unwrap_or(""),
            resources.iter().cloned(),
            false,
            crate::app::ids::now(),
        );
        if let Err(failure) = self.app.record_refusal(action, &who.meta, refused).await {
            tracing::error!(error = %failure, "could not record the refusal in the log");
        }
        result
    }
}
