//! Buckets: create, delete, head, list, location, ACL, versioning, CORS
//! and tagging.

use super::acl;
use super::objects::bucket_name;
use super::read;
use super::{Walrus, s3_time};
use domain::Command;
use domain::buckets::{
    CorsRule, CreateBucket, DeleteBucket, Permission, PutBucketAcl, PutBucketCors, PutBucketTagging,
    PutBucketVersioning, Versioning,
};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

impl Walrus {
    pub(crate) async fn list_buckets_impl(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let who = self.who(&req)?;
        let Some(account) = who.account() else {
            return Err(s3_error!(AccessDenied, "Anonymous users cannot list buckets."));
        };
        let models = self.app.projections.read();
        let prefix = req.input.prefix.as_deref().unwrap_or("");
        // Pages of `max-buckets` (1 to 10,000), in name order; the token is
        // the last name of the page before.
        let max = match req.input.max_buckets {
            None => usize::MAX,
            Some(n @ 1..=10_000) => n as usize,
            Some(_) => return Err(s3_error!(InvalidArgument, "max-buckets must be between 1 and 10000.")),
        };
        let after = req.input.continuation_token.as_deref().unwrap_or("");
        let mut buckets: Vec<Bucket> = models
            .buckets
            .owned_by(account)
            .filter(|b| b.name.as_str().starts_with(prefix) && b.name.as_str() > after)
            .take(max.saturating_add(1))
            .map(|b| Bucket {
                bucket_region: Some(self.config.region.clone()),
                creation_date: Some(s3_time(b.created_at)),
                name: Some(b.name.to_string()),
            })
            .collect();
        let continuation_token = (buckets.len() > max).then(|| {
            buckets.truncate(max);
            buckets.last().and_then(|b| b.name.clone()).unwrap_or_default()
        });
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            continuation_token,
            owner: Some(acl::owner(&models, account)),
            prefix: req.input.prefix.clone(),
        }))
    }

    pub(crate) async fn create_bucket_impl(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let who = self.who(&req)?;
        if who.account().is_none() {
            return Err(s3_error!(AccessDenied, "Anonymous users cannot create buckets."));
        }
        who.changing()?;
        let i = req.input;
        let name = bucket_name(&i.bucket)?;
        if i.object_lock_enabled_for_bucket == Some(true) {
            return Err(super::objects::not_implemented("Object lock"));
        }
        let location = i
            .create_bucket_configuration
            .as_ref()
            .and_then(|c| c.location_constraint.as_ref())
            .map(|l| l.as_str().to_owned())
            .unwrap_or_default();
        if !location.is_empty() && location != self.config.region {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidLocationConstraint,
                format!(
                    "The specified location-constraint is not valid: this cloud's region is {}.",
                    self.config.region
                ),
            ));
        }
        let acl = acl::requested_by!(i, write)?;
        let command = Command::CreateBucket(CreateBucket {
            caller: who.caller.clone(),
            bucket: name,
            location,
            acl,
            at: crate::app::ids::now(),
        });
        self.execute(&who, command).await?;
        Ok(S3Response::new(CreateBucketOutput { location: Some(format!("/{}", i.bucket)) }))
    }

    pub(crate) async fn delete_bucket_impl(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let bucket = req.input.bucket;
        let command = Command::DeleteBucket(DeleteBucket {
            caller: who.caller.clone(),
            bucket: bucket_name(&bucket)?,
            at: crate::app::ids::now(),
        });
        self.execute(&who, command).await?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    pub(crate) async fn head_bucket_impl(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let who = self.who(&req)?;
        let models = self.app.projections.read();
        let b = read::bucket(&models, &req.input.bucket)?;
        if who.account() != Some(&b.owner) && !b.allows(&who.caller, Permission::Read) {
            return Err(read::denied());
        }
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(self.config.region.clone()),
            ..Default::default()
        }))
    }

    pub(crate) async fn get_bucket_location_impl(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let who = self.who(&req)?;
        let models = self.app.projections.read();
        let b = read::owned_bucket(&models, &req.input.bucket, &who.caller)?;
        let location = (!b.location.is_empty()).then(|| BucketLocationConstraint::from(b.location.clone()));
        Ok(S3Response::new(GetBucketLocationOutput { location_constraint: location }))
    }

    pub(crate) async fn get_bucket_acl_impl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        let who = self.who(&req)?;
        let models = self.app.projections.read();
        let b = read::bucket_for(&models, &req.input.bucket, &who.caller, Permission::ReadAcp)?;
        Ok(S3Response::new(GetBucketAclOutput {
            grants: Some(acl::grants(&models, &b.acl)),
            owner: Some(acl::owner(&models, &b.owner)),
        }))
    }

    pub(crate) async fn put_bucket_acl_impl(
        &self,
        req: S3Request<PutBucketAclInput>,
    ) -> S3Result<S3Response<PutBucketAclOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        let acl = acl::requested_by!(i, write, i.access_control_policy.as_ref())?;
        let command = Command::PutBucketAcl(PutBucketAcl {
            caller: who.caller.clone(),
            bucket: bucket_name(&i.bucket)?,
            acl,
            at: crate::app::ids::now(),
        });
        self.execute(&who, command).await?;
        Ok(S3Response::new(PutBucketAclOutput::default()))
    }

    pub(crate) async fn get_bucket_versioning_impl(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let who = self.who(&req)?;
        let models = self.app.projections.read();
        let b = read::owned_bucket(&models, &req.input.bucket, &who.caller)?;
        let status = match b.versioning {
            Versioning::Unversioned => None,
            Versioning::Enabled => Some(BucketVersioningStatus::from_static(BucketVersioningStatus::ENABLED)),
            Versioning::Suspended => {
                Some(BucketVersioningStatus::from_static(BucketVersioningStatus::SUSPENDED))
            }
        };
        Ok(S3Response::new(GetBucketVersioningOutput { mfa_delete: None, status }))
    }

    pub(crate) async fn put_bucket_versioning_impl(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        let versioning = match i.versioning_configuration.status.as_ref().map(|s| s.as_str()) {
            Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
            Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
            _ => return Err(s3_error!(MalformedXML, "The versioning Status must be Enabled or Suspended.")),
        };
        let command = Command::PutBucketVersioning(PutBucketVersioning {
            caller: who.caller.clone(),
            bucket: bucket_name(&i.bucket)?,
            versioning,
            at: crate::app::ids::now(),
        });
        self.execute(&who, command).await?;
        Ok(S3Response::new(PutBucketVersioningOutput::default()))
    }

    pub(crate) async fn get_bucket_cors_impl(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let who = self.who(&req)?;
        let models = self.app.projections.read();
        let b = read::owned_bucket(&models, &req.input.bucket, &who.caller)?;
        if b.cors.is_empty() {
            return Err(S3Error::with_message(
                S3ErrorCode::NoSuchCORSConfiguration,
                "The CORS configuration does not exist",
            ));
        }
        let rules = b
            .cors
            .iter()
            .map(|r| CORSRule {
                allowed_headers: (!r.allowed_headers.is_empty()).then(|| r.allowed_headers.clone()),
                allowed_methods: r.allowed_methods.clone(),
                allowed_origins: r.allowed_origins.clone(),
                expose_headers: (!r.expose_headers.is_empty()).then(|| r.expose_headers.clone()),
                id: r.id.clone(),
                max_age_seconds: r.max_age_seconds,
            })
            .collect();
        Ok(S3Response::new(GetBucketCorsOutput { cors_rules: Some(rules) }))
    }

    pub(crate) async fn put_bucket_cors_impl(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        let rules: Vec<CorsRule> = i
            .cors_configuration
            .cors_rules
            .into_iter()
            .map(|r| CorsRule {
                id: r.id,
                allowed_origins: r.allowed_origins,
                allowed_methods: r.allowed_methods,
                allowed_headers: r.allowed_headers.unwrap_or_default(),
                expose_headers: r.expose_headers.unwrap_or_default(),
                max_age_seconds: r.max_age_seconds,
            })
            .collect();
        if rules.is_empty() || rules.len() > 100 {
            return Err(s3_error!(MalformedXML, "A CORS configuration holds 1 to 100 rules."));
        }
        const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];
        if let Some(bad) =
            rules.iter().flat_map(|r| &r.allowed_methods).find(|m| !METHODS.contains(&m.as_str()))
        {
            return Err(s3_error!(
                InvalidRequest,
                "Found unsupported HTTP method in CORS config. Unsupported method is {bad}"
            ));
        }
        self.set_cors(&who, &i.bucket, rules).await?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    pub(crate) async fn delete_bucket_cors_impl(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        self.set_cors(&who, &req.input.bucket, Vec::new()).await?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }

    async fn set_cors(&self, who: &super::Who, bucket: &str, rules: Vec<CorsRule>) -> S3Result<()> {
        let command = Command::PutBucketCors(PutBucketCors {
            caller: who.caller.clone(),
            bucket: bucket_name(bucket)?,
            rules,
            at: crate::app::ids::now(),
        });
        self.execute(who, command).await.map(|_| ())
    }

    pub(crate) async fn get_bucket_tagging_impl(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        let who = self.who(&req)?;
        let models = self.app.projections.read();
        let b = read::owned_bucket(&models, &req.input.bucket, &who.caller)?;
        if b.tags.is_empty() {
            return Err(S3Error::with_message(S3ErrorCode::NoSuchTagSet, "The TagSet does not exist"));
        }
        let tag_set =
            b.tags.iter().map(|(k, v)| Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect();
        Ok(S3Response::new(GetBucketTaggingOutput { tag_set }))
    }

    pub(crate) async fn put_bucket_tagging_impl(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        let mut tags = Vec::new();
        for t in i.tagging.tag_set {
            let (Some(k), Some(v)) = (t.key, t.value) else {
                return Err(s3_error!(MalformedXML, "Every Tag needs a Key and a Value."));
            };
            if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
                return Err(s3_error!(InvalidTag, "Tag keys are 1 to 128 characters, values at most 256."));
            }
            if tags.iter().any(|(key, _): &(String, String)| key == &k) {
                return Err(s3_error!(InvalidTag, "Cannot provide multiple Tags with the same key"));
            }
            tags.push((k, v));
        }
        if tags.len() > 50 {
            return Err(s3_error!(InvalidTag, "A bucket has at most 50 tags."));
        }
        self.set_tags(&who, &i.bucket, tags).await?;
        Ok(S3Response::new(PutBucketTaggingOutput::default()))
    }

    pub(crate) async fn delete_bucket_tagging_impl(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        self.set_tags(&who, &req.input.bucket, Vec::new()).await?;
        Ok(S3Response::new(DeleteBucketTaggingOutput::default()))
    }

    async fn set_tags(&self, who: &super::Who, bucket: &str, tags: Vec<(String, String)>) -> S3Result<()> {
        let command = Command::PutBucketTagging(PutBucketTagging {
            caller: who.caller.clone(),
            bucket: bucket_name(bucket)?,
            tags,
            at: crate::app::ids::now(),
        });
        self.execute(who, command).await.map(|_| ())
    }
}
