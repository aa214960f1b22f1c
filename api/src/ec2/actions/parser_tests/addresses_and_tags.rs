//! Elastic address and tag actions.

use super::{Case, Then, builds, check_all, tags};
use domain::command::{AddressRef, DisassociateRef};
use domain::{AllocationId, AssociationId, Command, TagRemoval};

pub(super) const ADDRESSES_AND_TAGS: &[Case] = &[
    Case {
        action: "AllocateAddress",
        given: "Domain=vpc&TagSpecification.1.ResourceType=elastic-ip&TagSpecification.1.Tag.1.Key=Name\
                &TagSpecification.1.Tag.1.Value=web-eip",
        then: builds!(AllocateAddress, |_, c| assert_eq!(c.tags, tags("Name=web-eip"))),
        refused: ("Domain=classic", "InvalidParameterValue"),
    },
    Case {
        action: "AssociateAddress",
        given: "AllocationId=$allocation&InstanceId=$instance&AllowReassociation=true",
        then: builds!(AssociateAddress, |f, c| {
            assert_eq!(c.address, AddressRef::Allocation(AllocationId::parse(f.id("$allocation")).unwrap()));
            assert_eq!((c.instance.as_str(), c.allow_reassociation), (f.id("$instance"), true));
        }),
        refused: ("PublicIp=198.51.100.300&InstanceId=$instance", "InvalidAddress.Malformed"),
    },
    Case {
        action: "DisassociateAddress",
        given: "AssociationId=$association",
        then: builds!(DisassociateAddress, |f, c| {
            assert_eq!(
                c.address,
                DisassociateRef::Association(AssociationId::parse(f.id("$association")).unwrap())
            )
        }),
        refused: ("PublicIp=198.51.100.7&AssociationId=$association", "InvalidParameterCombination"),
    },
    Case {
        // euca-release-address 198.51.100.7
        action: "ReleaseAddress",
        given: "PublicIp=198.51.100.7",
        then: builds!(ReleaseAddress, |_, c| assert_eq!(
            c.address,
            AddressRef::PublicIp("198.51.100.7".into())
        )),
        refused: ("", "MissingParameter"),
    },
    Case {
        // The test cloud has no public addresses, so no address can be
        // named (a named one must exist): the request is of filters.
        action: "DescribeAddresses",
        given: "Filter.1.Name=domain&Filter.1.Value.1=standard&Filter.2.Name=instance-id\
                &Filter.2.Value.1=$instance",
        then: Then::Answers {
            carries: &[
                r#"Filter { name: "domain", values: ["standard"] }"#,
                r#"Filter { name: "instance-id", values: ["$instance"] }"#,
            ],
            root: "DescribeAddressesResponse",
            shows: &["<addressesSet></addressesSet>"],
        },
        refused: ("AllocationId.1=eipalloc-zz", "InvalidAllocationID.NotFound"),
    },
    Case {
        action: "CreateTags",
        given: "ResourceId.1=$instance&ResourceId.2=$volume&Tag.1.Key=Name&Tag.1.Value=web-1\
                &Tag.2.Key=backup",
        then: builds!(CreateTags, |f, c| {
            assert_eq!(c.resources, [f.id("$instance"), f.id("$volume")]);
            assert_eq!(c.tags, tags("Name=web-1&backup="));
        }),
        refused: ("ResourceId.1=$instance&Tag.1.Key=aws:cloudformation:stack-name", "InvalidParameterValue"),
    },
    Case {
        action: "DeleteTags",
        given: "ResourceId.1=$instance&Tag.1.Key=Name&Tag.2.Key=env&Tag.2.Value=prod",
        then: builds!(DeleteTags, |f, c| {
            assert_eq!(c.resources, [f.id("$instance")]);
            let removals = [
                TagRemoval { key: "Name".into(), value: None },
                TagRemoval { key: "env".into(), value: Some("prod".into()) },
            ];
            assert_eq!(c.removals, removals);
        }),
        refused: ("Tag.1.Key=Name", "MissingParameter"),
    },
    Case {
        action: "DescribeTags",
        given: "Filter.1.Name=resource-id&Filter.1.Value.1=$instance&Filter.2.Name=key&Filter.2.Value.1=Name\
                &MaxResults=5",
        then: Then::Answers {
            carries: &[
                r#"Filter { name: "resource-id", values: ["$instance"] }"#,
                r#"Filter { name: "key", values: ["Name"] }"#,
                "page: Page { size: Some(5), after: None }",
            ],
            root: "DescribeTagsResponse",
            shows: &["<resourceId>$instance</resourceId>", "<value>fixture-web-1</value>"],
        },
        refused: ("NextToken=!!", "InvalidPaginationToken"),
    },
];

#[tokio::test]
async fn address_and_tag_actions() {
    check_all(ADDRESSES_AND_TAGS).await;
}
