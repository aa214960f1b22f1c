//! Actions on the cloud itself: instance types, regions, zones and the
//! account's attributes.

use super::{Case, Then, builds, check_all};
use domain::Command;

pub(super) const CLOUD: &[Case] = &[
    Case {
        action: "DescribeInstanceTypes",
        given: "InstanceType.1=m1.small&InstanceType.2=c1.medium\
                &Filter.1.Name=processor-info.supported-architecture&Filter.1.Value.1=x86_64",
        then: Then::Answers {
            carries: &[
                r#"names: ["m1.small", "c1.medium"]"#,
                r#"Filter { name: "processor-info.supported-architecture", values: ["x86_64"] }"#,
            ],
            root: "DescribeInstanceTypesResponse",
            shows: &["<instanceType>m1.small</instanceType>", "<instanceType>c1.medium</instanceType>"],
        },
        refused: ("MaxResults=101", "InvalidParameterValue"),
    },
    Case {
        // euca-modify-instance-type -c 2 -d 10 -m 512 m1.small
        action: "ModifyInstanceTypeAttribute",
        given: "Name=m1.small&Cpu=2&Memory=512&Disk=10",
        then: builds!(ModifyInstanceTypeAttribute, |_, c| {
            let asked = (c.name.as_str(), c.cpus, c.memory_mib, c.disk_gib, c.reset);
            assert_eq!(asked, ("m1.small", Some(2), Some(512), Some(10), false));
        }),
        refused: ("Name=m1.small&Cpu=0", "InvalidParameterValue"),
    },
    Case {
        action: "ModifyInstanceTypeAttribute",
        given: "Name=c1.medium&Reset=true",
        then: builds!(ModifyInstanceTypeAttribute, |_, c| {
            let asked = (c.name.as_str(), c.cpus, c.memory_mib, c.disk_gib, c.reset);
            assert_eq!(asked, ("c1.medium", None, None, None, true));
        }),
        refused: ("Cpu=2", "MissingParameter"),
    },
    Case {
        action: "DescribeRegions",
        given: "RegionName.1=yukari&Filter.1.Name=endpoint&Filter.1.Value.1=http://localhost*",
        then: Then::Answers {
            carries: &[
                r#"names: ["yukari"], filters: [Filter { name: "endpoint", values: ["http://localhost*"] }]"#,
            ],
            root: "DescribeRegionsResponse",
            shows: &["<regionName>yukari</regionName>"],
        },
        refused: ("Filter.1.Name=region-colour&Filter.1.Value.1=red", "InvalidParameterValue"),
    },
    Case {
        // euca-describe-availability-zones verbose yukari-1a
        action: "DescribeAvailabilityZones",
        given: "ZoneName.1=yukari-1a&ZoneName.2=verbose&Filter.1.Name=state&Filter.1.Value.1=available",
        then: Then::Answers {
            carries: &[
                r#"names: ["yukari-1a", "verbose"]"#,
                r#"Filter { name: "state", values: ["available"] }"#,
            ],
            root: "DescribeAvailabilityZonesResponse",
            shows: &["<zoneName>yukari-1a</zoneName>", "<zoneName>|- m1.small</zoneName>"],
        },
        refused: ("Filter.1.Value.1=available", "MissingParameter"),
    },
    Case {
        action: "DescribeAccountAttributes",
        given: "AttributeName.1=supported-platforms&AttributeName.2=max-instances",
        then: Then::Answers {
            carries: &[r#"names: ["supported-platforms", "max-instances"]"#],
            root: "DescribeAccountAttributesResponse",
            shows: &["<attributeName>max-instances</attributeName>", "<attributeValue>EC2</attributeValue>"],
        },
        refused: ("AttributeName.1=max-widgets", "InvalidParameterValue"),
    },
];

#[tokio::test]
async fn cloud_actions() {
    check_all(CLOUD).await;
}
