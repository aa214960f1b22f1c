//! The AWS CLI against the real binary: the lifecycle a user runs first.

mod common;
use common::*;

#[test]
fn run_describe_and_terminate_with_the_aws_cli() {
    let cloud = Cloud::start();
    let run = cloud.aws(&[
        "run-instances",
        "--image-id",
        DEFAULT_IMAGE,
        "--count",
        "3",
        "--instance-type",
        "m1.small",
    ]);
    let ids: Vec<String> = run["Instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["InstanceId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(run["ReservationId"].as_str().unwrap().starts_with("r-"));
    assert_eq!(run["OwnerId"].as_str().unwrap().len(), 12);
    for i in run["Instances"].as_array().unwrap() {
        assert_eq!(i["State"]["Name"], "pending");
        assert_eq!(i["State"]["Code"], 0);
        assert_eq!(i["InstanceType"], "m1.small");
        assert_eq!(i["ImageId"], DEFAULT_IMAGE);
        assert_eq!(i["Placement"]["AvailabilityZone"], "yukari-1a");
        // The AWS CLI adds a client token on its own; it comes back.
        assert!(!i["ClientToken"].as_str().unwrap().is_empty());
    }

    cloud.eventually(30, "three running instances", || {
        let running =
            cloud.aws(&["describe-instances", "--filters", "Name=instance-state-name,Values=running"]);
        instance_states(&running).len() == 3
    });

    let gone = cloud.aws(&["terminate-instances", "--instance-ids", &ids[0]]);
    let change = &gone["TerminatingInstances"][0];
    assert_eq!(change["InstanceId"], ids[0].as_str());
    assert_eq!(change["PreviousState"]["Name"], "running");
    assert_eq!(change["CurrentState"]["Name"], "shutting-down");
    assert_eq!(change["CurrentState"]["Code"], 32);

    cloud.eventually(30, "the instance to be terminated", || {
        let one = cloud.aws(&["describe-instances", "--instance-ids", &ids[0]]);
        instance_states(&one) == vec![(ids[0].clone(), "terminated".to_owned())]
    });
    let running = cloud.aws(&["describe-instances", "--filters", "Name=instance-state-name,Values=running"]);
    let mut still: Vec<String> = instance_states(&running).into_iter().map(|(id, _)| id).collect();
    still.sort();
    let mut expected = ids[1..].to_vec();
    expected.sort();
    assert_eq!(still, expected);

    // Terminating again changes nothing and says so.
    let again = cloud.aws(&["terminate-instances", "--instance-ids", &ids[0]]);
    assert_eq!(again["TerminatingInstances"][0]["PreviousState"]["Name"], "terminated");
    assert_eq!(again["TerminatingInstances"][0]["CurrentState"]["Name"], "terminated");
}

#[test]
fn describe_filters_pages_and_errors_with_the_aws_cli() {
    let cloud = Cloud::start();
    cloud.aws(&[
        "run-instances",
        "--image-id",
        DEFAULT_IMAGE,
        "--count",
        "7",
        "--instance-type",
        "c1.medium",
    ]);
    cloud.aws(&["run-instances", "--image-id", DEFAULT_IMAGE, "--count", "5"]);
    let all = cloud.aws(&["describe-instances"]);
    assert_eq!(instance_states(&all).len(), 12);
    assert_eq!(all["Reservations"].as_array().unwrap().len(), 2);

    // --page-size sends MaxResults and follows NextToken until done.
    let paged = cloud.aws(&["describe-instances", "--page-size", "5"]);
    let mut paged_ids: Vec<String> = instance_states(&paged).into_iter().map(|(i, _)| i).collect();
    paged_ids.sort();
    paged_ids.dedup();
    assert_eq!(paged_ids.len(), 12);

    let medium = cloud.aws(&["describe-instances", "--filters", "Name=instance-type,Values=c1.*"]);
    assert_eq!(instance_states(&medium).len(), 7);
    let none = cloud.aws(&["describe-instances", "--filters", "Name=availability-zone,Values=elsewhere"]);
    assert!(instance_states(&none).is_empty());

    let bad_filter = cloud.aws_raw(&["describe-instances", "--filters", "Name=no-such-filter,Values=x"]);
    assert!(String::from_utf8_lossy(&bad_filter.stderr).contains("InvalidParameterValue"));
    let missing = cloud.aws_raw(&["describe-instances", "--instance-ids", "i-0123456789abcdef0"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("InvalidInstanceID.NotFound"));
    let malformed = cloud.aws_raw(&["terminate-instances", "--instance-ids", "i-xyz"]);
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("InvalidInstanceID.Malformed"));
    let no_image = cloud.aws_raw(&["run-instances", "--image-id", "emi-00000000000000bad", "--count", "1"]);
    assert!(String::from_utf8_lossy(&no_image.stderr).contains("InvalidAMIID.NotFound"));
    let no_type =
        cloud.aws_raw(&["run-instances", "--image-id", DEFAULT_IMAGE, "--instance-type", "m9.huge"]);
    assert!(String::from_utf8_lossy(&no_type.stderr).contains("InvalidParameterValue"));

    let images = cloud.aws(&["describe-images"]);
    let image_ids: Vec<&str> =
        images["Images"].as_array().unwrap().iter().map(|i| i["ImageId"].as_str().unwrap()).collect();
    assert!(image_ids.contains(&DEFAULT_IMAGE));
    let machine = cloud.aws(&["describe-images", "--filters", "Name=image-type,Values=machine"]);
    assert_eq!(machine["Images"].as_array().unwrap().len(), 1);
    assert_eq!(machine["Images"][0]["KernelId"].as_str().unwrap(), "eki-0000059554b415249");

    let regions = cloud.aws(&["describe-regions"]);
    assert_eq!(regions["Regions"][0]["RegionName"], "yukari");
    assert_eq!(regions["Regions"][0]["Endpoint"], cloud.endpoint().as_str());
    let zones = cloud.aws(&["describe-availability-zones"]);
    assert_eq!(zones["AvailabilityZones"][0]["ZoneName"], "yukari-1a");
    assert_eq!(zones["AvailabilityZones"][0]["State"], "available");
}
