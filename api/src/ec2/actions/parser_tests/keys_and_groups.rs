//! Key pair and security group actions, rules included.

use super::{Case, Fixture, Then, builds, check_all, tags};
use domain::command::{GroupRef, RuleRef, SourceRef};
use domain::{Command, SecurityGroupId};

pub(super) const KEYS_AND_GROUPS: &[Case] = &[
    Case {
        action: "CreateKeyPair",
        given: "KeyName=deploy-2024&KeyType=ed25519&TagSpecification.1.ResourceType=key-pair\
                &TagSpecification.1.Tag.1.Key=team&TagSpecification.1.Tag.1.Value=web",
        then: builds!(CreateKeyPair, |_, c| {
            assert_eq!((c.name.as_str(), c.key_type.as_str()), ("deploy-2024", "ed25519"));
            assert!(c.public_key.starts_with("ssh-ed25519 ") && !c.fingerprint.is_empty(), "{c:?}");
            assert_eq!(c.tags, tags("team=web"));
        }),
        refused: ("KeyName=deploy-2024&KeyType=dsa", "InvalidParameterValue"),
    },
    Case {
        // aws ec2 import-key-pair --public-key-material fileb://key.pub
        // (base64 of the file).
        action: "ImportKeyPair",
        given: "KeyName=laptop&PublicKeyMaterial=$material",
        then: builds!(ImportKeyPair, |f, c| {
            assert_eq!((c.name.as_str(), c.key_type.as_str()), ("laptop", "ed25519"));
            assert_eq!(c.public_key, f.id("$public_key"));
        }),
        refused: ("KeyName=laptop&PublicKeyMaterial=bm90IGEga2V5", "InvalidKey.Format"),
    },
    Case {
        action: "DescribeKeyPairs",
        given: "KeyName.1=fixture-key&KeyPairId.1=$key&Filter.1.Name=key-type&Filter.1.Value.1=ed25519\
                &IncludePublicKey=true",
        then: Then::Answers {
            carries: &[
                r#"names: ["fixture-key"], ids: ["$key"]"#,
                r#"Filter { name: "key-type", values: ["ed25519"] }], include_public_key: true"#,
            ],
            root: "DescribeKeyPairsResponse",
            shows: &["<keyName>fixture-key</keyName>", "<publicKey>ssh-ed25519 "],
        },
        refused: ("IncludePublicKey=yes", "InvalidParameterValue"),
    },
    Case {
        action: "DeleteKeyPair",
        given: "KeyName=fixture-key",
        then: builds!(DeleteKeyPair, |_, c| assert_eq!(
            (c.name.as_deref(), &c.key_pair),
            (Some("fixture-key"), &None)
        )),
        refused: ("KeyPairId=key-xyz", "InvalidKeyPair.NotFound"),
    },
    Case {
        action: "CreateSecurityGroup",
        given: "GroupName=db&GroupDescription=database tier&VpcId=vpc-0123456789abcdef0\
                &TagSpecification.1.ResourceType=security-group&TagSpecification.1.Tag.1.Key=tier\
                &TagSpecification.1.Tag.1.Value=db",
        then: builds!(CreateSecurityGroup, |_, c| {
            assert_eq!((c.name.as_str(), c.description.as_str()), ("db", "database tier"));
            assert_eq!(c.tags, tags("tier=db"));
        }),
        refused: ("GroupName=sg-db&GroupDescription=database tier", "InvalidParameterValue"),
    },
    Case {
        action: "DeleteSecurityGroup",
        given: "GroupId=$group",
        then: builds!(DeleteSecurityGroup, |f, c| assert_eq!(c.group, group(f))),
        refused: ("GroupId=sg-xyz", "InvalidGroupId.Malformed"),
    },
    Case {
        action: "DescribeSecurityGroups",
        given: "GroupName.1=fixture-web&GroupId.1=$group&Filter.1.Name=description&Filter.1.Value.1=fixture*",
        then: Then::Answers {
            carries: &[
                r#"names: ["fixture-web"], ids: [SecurityGroupId("$group")]"#,
                r#"Filter { name: "description", values: ["fixture*"] }"#,
            ],
            root: "DescribeSecurityGroupsResponse",
            shows: &["<groupId>$group</groupId>", "<groupDescription>fixture web tier</groupDescription>"],
        },
        refused: ("Filter.1.Name=ip-permission.port&Filter.1.Value.1=22", "InvalidParameterValue"),
    },
    Case {
        // aws ec2 authorize-security-group-ingress --ip-permissions
        // IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[…],UserIdGroupPairs=[…]
        action: "AuthorizeSecurityGroupIngress",
        given: "GroupId=$group&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22\
                &IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=203.0.113.0/24\
                &IpPermissions.1.Groups.1.GroupId=$group&IpPermissions.1.Groups.1.UserId=$account",
        then: builds!(AuthorizeSecurityGroupIngress, |f, c| {
            let account = Some(domain::AccountId::parse(f.id("$account")).unwrap());
            let own = SourceRef::Group { account, group: group(f) };
            assert_eq!(c.group, group(f));
            assert_eq!(c.rules, [rule("tcp", 22, 22, cidr("203.0.113.0/24")), rule("tcp", 22, 22, own)]);
        }),
        refused: ("GroupId=$group&IpProtocol=gre&CidrIp=0.0.0.0/0", "InvalidPermission.Malformed"),
    },
    Case {
        action: "AuthorizeSecurityGroupEgress",
        given: "GroupId=$group&IpPermissions.1.IpProtocol=udp&IpPermissions.1.FromPort=53\
                &IpPermissions.1.ToPort=53&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0\
                &IpPermissions.2.IpProtocol=icmp&IpPermissions.2.FromPort=-1&IpPermissions.2.ToPort=-1\
                &IpPermissions.2.IpRanges.1.CidrIp=10.0.0.0/8",
        then: builds!(AuthorizeSecurityGroupEgress, |f, c| {
            assert_eq!(c.group, group(f));
            assert_eq!(
                c.rules,
                [rule("udp", 53, 53, cidr("0.0.0.0/0")), rule("icmp", -1, -1, cidr("10.0.0.0/8"))]
            );
        }),
        refused: (
            "GroupId=$group&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=80\
             &IpPermissions.1.ToPort=79&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
            "InvalidParameterValue",
        ),
    },
    Case {
        // euca-revoke -P tcp -p 80 -s 0.0.0.0/0 fixture-web
        action: "RevokeSecurityGroupIngress",
        given: "GroupName=fixture-web&IpProtocol=tcp&FromPort=80&ToPort=80&CidrIp=0.0.0.0/0",
        then: builds!(RevokeSecurityGroupIngress, |_, c| {
            assert_eq!(c.group, GroupRef::Name("fixture-web".into()));
            assert_eq!(c.rules, [rule("tcp", 80, 80, cidr("0.0.0.0/0"))]);
        }),
        refused: (
            "GroupName=fixture-web&IpProtocol=tcp&FromPort=80&ToPort=80&CidrIp=10.0.0.0/33",
            "InvalidParameterValue",
        ),
    },
    Case {
        action: "RevokeSecurityGroupEgress",
        given: "GroupId=$group&IpPermissions.1.IpProtocol=-1&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
        then: builds!(RevokeSecurityGroupEgress, |f, c| {
            assert_eq!(c.group, group(f));
            assert_eq!(c.rules, [rule("-1", -1, -1, cidr("0.0.0.0/0"))]);
        }),
        refused: (
            "IpPermissions.1.IpProtocol=-1&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0",
            "MissingParameter",
        ),
    },
];

/// The fixture's group, by id.
fn group(f: &Fixture) -> GroupRef {
    GroupRef::Id(SecurityGroupId::parse(f.id("$group")).unwrap())
}

fn rule(protocol: &str, from_port: i32, to_port: i32, source: SourceRef) -> RuleRef {
    RuleRef { protocol: protocol.into(), from_port, to_port, source }
}

fn cidr(block: &str) -> SourceRef {
    SourceRef::Cidr(block.into())
}

#[tokio::test]
async fn key_pair_and_security_group_actions() {
    check_all(KEYS_AND_GROUPS).await;
}
