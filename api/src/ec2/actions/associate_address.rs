//! AssociateAddress: puts one of the caller's elastic IPs on one of its
//! instances (the instance's auto-assigned public address goes back to the
//! pool).

use crate::app::{App, ids::now};
use crate::ec2::Ctx;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::command::{AddressRef, AssociateAddress};
use domain::{AllocationId, Command, InstanceId, Reply};

#[derive(Debug)]
pub struct Request {
    address: AddressRef,
    instance: InstanceId,
    allow_reassociation: bool,
}

/// A public IPv4 address as a parameter value.
pub(crate) fn public_ip(value: &str) -> Result<String, Ec2Error> {
    value.parse::<std::net::Ipv4Addr>().map(|_| value.to_owned()).map_err(|_| {
        Ec2Error::new(
            Code::InvalidAddressMalformed,
            format!("The specified IP address '{value}' is not valid."),
        )
    })
}

pub(crate) fn allocation_id(value: &str) -> Result<AllocationId, Ec2Error> {
    AllocationId::parse(value).map_err(|_| {
        Ec2Error::new(
            Code::InvalidAllocationIdNotFound,
            format!("The allocation ID '{value}' does not exist"),
        )
    })
}

/// An elastic IP named by `PublicIp` or `AllocationId` (one of them).
pub(crate) fn address_ref(params: &Params) -> Result<AddressRef, Ec2Error> {
    let get = |name| params.get(name).filter(|v| !v.is_empty());
    match (get("PublicIp"), get("AllocationId")) {
        (Some(_), Some(_)) => Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The parameter PublicIp cannot be used with the parameter AllocationId",
        )),
        (Some(ip), None) => Ok(AddressRef::PublicIp(public_ip(ip)?)),
        (None, Some(id)) => Ok(AddressRef::Allocation(allocation_id(id)?)),
        (None, None) => Err(Ec2Error::missing("PublicIp or AllocationId")),
    }
}

pub fn parse(params: &Params) -> Result<Request, Ec2Error> {
    let address = address_ref(params)?;
    let instance = match params.get("InstanceId").filter(|v| !v.is_empty()) {
        Some(id) => InstanceId::parse(id)
            .map_err(|_| Ec2Error::new(Code::InvalidInstanceIdMalformed, format!("Invalid id: \"{id}\"")))?,
        None if params.get("NetworkInterfaceId").is_some() => {
            return Err(Ec2Error::invalid("Network interfaces are not supported: give an InstanceId."));
        }
        None => return Err(Ec2Error::missing("InstanceId")),
    };
    let allow_reassociation = params.bool("AllowReassociation")?.unwrap_or(false);
    Ok(Request { address, instance, allow_reassociation })
}

pub async fn run(app: &App, ctx: &Ctx, r: Request) -> Result<String, Ec2Error> {
    let command = Command::AssociateAddress(AssociateAddress {
        account: ctx.account().clone(),
        address: r.address,
        instance: r.instance,
        association: app.ids.association(),
        allow_reassociation: r.allow_reassociation,
        at: now(),
    });
    let executed = ctx.execute(app, command).await?;
    let Reply::Address { allocation, .. } = executed.decision.reply else {
        return Err(Ec2Error::internal());
    };
    // The association in force (an address already on this instance keeps
    // the one it had).
    let models = app.projections.read();
    let association = models.network.addresses.get(&allocation).and_then(|row| row.association.as_ref());
    let mut x = ctx.response("AssociateAddressResponse");
    x.display("return", true);
    x.opt("associationId", association.map(|(id, _)| id.as_str()));
    Ok(x.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
    }

    const I: &str = "i-0123456789abcdef0";

    #[test]
    fn addresses_are_named_by_ip_or_allocation() {
        let r = parse(&p(&[("PublicIp", "198.51.100.7"), ("InstanceId", I)])).unwrap();
        assert_eq!(r.address, AddressRef::PublicIp("198.51.100.7".into()));
        assert!(!r.allow_reassociation);
        let r = parse(&p(&[
            ("AllocationId", "eipalloc-0123456789abcdef0"),
            ("InstanceId", I),
            ("AllowReassociation", "true"),
        ]))
        .unwrap();
        assert_eq!(
            r.address,
            AddressRef::Allocation(AllocationId::parse("eipalloc-0123456789abcdef0").unwrap())
        );
        assert!(r.allow_reassociation);
        let code = |pairs: &[(&str, &str)]| parse(&p(pairs)).unwrap_err().code;
        assert_eq!(code(&[("InstanceId", I)]), "MissingParameter");
        assert_eq!(code(&[("PublicIp", "198.51.100.7")]), "MissingParameter");
        assert_eq!(code(&[("PublicIp", "198.51.100.300"), ("InstanceId", I)]), "InvalidAddress.Malformed");
        assert_eq!(
            code(&[("AllocationId", "eipalloc-x"), ("InstanceId", I)]),
            "InvalidAllocationID.NotFound"
        );
        assert_eq!(
            code(&[
                ("PublicIp", "198.51.100.7"),
                ("AllocationId", "eipalloc-0123456789abcdef0"),
                ("InstanceId", I)
            ]),
            "InvalidParameterCombination"
        );
        assert_eq!(
            code(&[("PublicIp", "198.51.100.7"), ("InstanceId", "i-x")]),
            "InvalidInstanceID.Malformed"
        );
    }
}
