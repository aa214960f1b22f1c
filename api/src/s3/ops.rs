//! The S3 operations Walrus answers, each handed to its module, and the
//! refusals recorded in the audit trail as EC2's are: every refusal of a
//! change, and AccessDenied of anything, when the caller is known. Every
//! other operation is s3s's NotImplemented.

use super::Walrus;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

#[async_trait::async_trait]
impl S3 for Walrus {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let (who, resources) = (self.who(&req), Vec::new());
        let result = self.list_buckets_impl(req).await;
        self.audit(who, "ListBuckets", false, &resources, result).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.create_bucket_impl(req).await;
        self.audit(who, "CreateBucket", true, &resources, result).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.delete_bucket_impl(req).await;
        self.audit(who, "DeleteBucket", true, &resources, result).await
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.head_bucket_impl(req).await;
        self.audit(who, "HeadBucket", false, &resources, result).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.get_bucket_location_impl(req).await;
        self.audit(who, "GetBucketLocation", false, &resources, result).await
    }

    async fn get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.get_bucket_acl_impl(req).await;
        self.audit(who, "GetBucketAcl", false, &resources, result).await
    }

    async fn put_bucket_acl(
        &self,
        req: S3Request<PutBucketAclInput>,
    ) -> S3Result<S3Response<PutBucketAclOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.put_bucket_acl_impl(req).await;
        self.audit(who, "PutBucketAcl", true, &resources, result).await
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.get_bucket_versioning_impl(req).await;
        self.audit(who, "GetBucketVersioning", false, &resources, result).await
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.put_bucket_versioning_impl(req).await;
        self.audit(who, "PutBucketVersioning", true, &resources, result).await
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.get_bucket_cors_impl(req).await;
        self.audit(who, "GetBucketCors", false, &resources, result).await
    }

    async fn put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.put_bucket_cors_impl(req).await;
        self.audit(who, "PutBucketCors", true, &resources, result).await
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.delete_bucket_cors_impl(req).await;
        self.audit(who, "DeleteBucketCors", true, &resources, result).await
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.get_bucket_tagging_impl(req).await;
        self.audit(who, "GetBucketTagging", false, &resources, result).await
    }

    async fn put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.put_bucket_tagging_impl(req).await;
        self.audit(who, "PutBucketTagging", true, &resources, result).await
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.delete_bucket_tagging_impl(req).await;
        self.audit(who, "DeleteBucketTagging", true, &resources, result).await
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.put_object_impl(req).await;
        self.audit(who, "PutObject", true, &resources, result).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.get_object_impl(req).await;
        self.audit(who, "GetObject", false, &resources, result).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.head_object_impl(req).await;
        self.audit(who, "HeadObject", false, &resources, result).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.delete_object_impl(req).await;
        self.audit(who, "DeleteObject", true, &resources, result).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.delete_objects_impl(req).await;
        self.audit(who, "DeleteObjects", true, &resources, result).await
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.copy_object_impl(req).await;
        self.audit(who, "CopyObject", true, &resources, result).await
    }

    async fn get_object_acl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.get_object_acl_impl(req).await;
        self.audit(who, "GetObjectAcl", false, &resources, result).await
    }

    async fn put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.put_object_acl_impl(req).await;
        self.audit(who, "PutObjectAcl", true, &resources, result).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.list_objects_impl(req).await;
        self.audit(who, "ListObjects", false, &resources, result).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.list_objects_v2_impl(req).await;
        self.audit(who, "ListObjectsV2", false, &resources, result).await
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.list_object_versions_impl(req).await;
        self.audit(who, "ListObjectVersions", false, &resources, result).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.create_multipart_upload_impl(req).await;
        self.audit(who, "CreateMultipartUpload", true, &resources, result).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.upload_part_impl(req).await;
        self.audit(who, "UploadPart", true, &resources, result).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.upload_part_copy_impl(req).await;
        self.audit(who, "UploadPartCopy", true, &resources, result).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.complete_multipart_upload_impl(req).await;
        self.audit(who, "CompleteMultipartUpload", true, &resources, result).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.abort_multipart_upload_impl(req).await;
        self.audit(who, "AbortMultipartUpload", true, &resources, result).await
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone(), req.input.key.clone()]);
        let result = self.list_parts_impl(req).await;
        self.audit(who, "ListParts", false, &resources, result).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let (who, resources) = (self.who(&req), vec![req.input.bucket.clone()]);
        let result = self.list_multipart_uploads_impl(req).await;
        self.audit(who, "ListMultipartUploads", false, &resources, result).await
    }
}
