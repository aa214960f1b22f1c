//! `AsOf` / `AsOfPosition`: Yukari's own parameters for the cloud's admin
//! on Describe* calls, answered from the read models as they were then
//! (docs/adr/0006-refusals-and-time-travel-in-the-controller.md).
//!
//! - `AsOf=2026-12-03T07:00:00Z` (RFC 3339, any offset, fractions allowed)
//!   — the state after the last record stored at or before that time;
//! - `AsOfPosition=N` — the state after the record at position N.
//!
//! Only the admin account may use them (`UnauthorizedOperation` for
//! anyone else, recorded as a refusal), only on the actions of
//! [`ANSWERS`] (`InvalidParameterCombination` otherwise), one at a time,
//! and not beyond the present (`InvalidParameterValue`).

use crate::app::AsOf;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The actions answered from past read models. The others either change
/// things, or read what the read models do not keep (console output, user
/// data), which has no past here.
pub const ANSWERS: &[&str] = &[
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DescribeImages",
    "DescribeRegions",
    "DescribeAvailabilityZones",
    "DescribeAccountAttributes",
    "DescribeInstanceTypes",
    "DescribeKeyPairs",
    "DescribeSecurityGroups",
    "DescribeAddresses",
    "DescribeTags",
    "DescribeVolumes",
    "DescribeVolumeStatus",
    "DescribeSnapshots",
    "DescribeSnapshotAttribute",
];

/// Whether the request names a past moment at all (valid or not).
pub fn asked(params: &Params) -> bool {
    params.get("AsOf").is_some() || params.get("AsOfPosition").is_some()
}

/// The moment asked for, if any; `now_us` and `head` bound it.
pub fn requested(params: &Params, now_us: i64, head: u64) -> Result<Option<AsOf>, Ec2Error> {
    match (params.get("AsOf"), params.get("AsOfPosition")) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "AsOf and AsOfPosition cannot be used together",
        )),
        (Some(text), None) => {
            let bad = || {
                Ec2Error::invalid(format!(
                    "Value ({text}) for parameter AsOf is invalid. Expected an RFC 3339 time such as 2026-12-03T07:00:00Z."
                ))
            };
            let t = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| bad())?;
            let us = i64::try_from(t.unix_timestamp_nanos() / 1000).map_err(|_| bad())?;
            if us > now_us {
                return Err(Ec2Error::invalid(format!(
                    "Value ({text}) for parameter AsOf is invalid: it is in the future."
                )));
            }
            Ok(Some(AsOf::Time(us)))
        }
        (None, Some(text)) => {
            let position: u64 = text.trim().parse().map_err(|_| {
                Ec2Error::invalid(format!(
                    "Value ({text}) for parameter AsOfPosition is invalid. Expected a log position (a positive integer)."
                ))
            })?;
            if position > head {
                return Err(Ec2Error::invalid(format!(
                    "Value ({text}) for parameter AsOfPosition is invalid: the log ends at position {head}."
                )));
            }
            Ok(Some(AsOf::Position(position)))
        }
    }
}

/// Refuses `AsOf` on an action it does not apply to.
pub fn check_action(action: &str) -> Result<(), Ec2Error> {
    if ANSWERS.contains(&action) {
        Ok(())
    } else {
        Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            format!("AsOf and AsOfPosition apply to Describe* actions only, not to {action}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    const NOW: i64 = 1_796_281_200_000_000; // 2026-12-03T07:00:00Z

    #[test]
    fn times_and_positions_are_read_and_bounded() {
        assert_eq!(requested(&params(&[]), NOW, 10).unwrap(), None);
        let at = |t: &str| requested(&params(&[("AsOf", t)]), NOW, 10);
        assert_eq!(at("2026-12-03T07:00:00Z").unwrap(), Some(AsOf::Time(NOW)));
        assert_eq!(at("2026-12-03T15:59:59.5+09:00").unwrap(), Some(AsOf::Time(NOW - 500_000)));
        assert_eq!(at("2026-12-03T07:00:01Z").unwrap_err().code, "InvalidParameterValue");
        assert_eq!(at("yesterday").unwrap_err().code, "InvalidParameterValue");
        let pos = |p: &str| requested(&params(&[("AsOfPosition", p)]), NOW, 10);
        assert_eq!(pos("7").unwrap(), Some(AsOf::Position(7)));
        assert_eq!(pos("11").unwrap_err().code, "InvalidParameterValue");
        assert_eq!(pos("-1").unwrap_err().code, "InvalidParameterValue");
        let both = requested(&params(&[("AsOf", "2026-12-03T07:00:00Z"), ("AsOfPosition", "1")]), NOW, 10);
        assert_eq!(both.unwrap_err().code, "InvalidParameterCombination");
    }

    #[test]
    fn only_describes_of_read_models() {
        assert!(check_action("DescribeInstances").is_ok());
        assert_eq!(check_action("TerminateInstances").unwrap_err().code, "InvalidParameterCombination");
        assert_eq!(check_action("GetConsoleOutput").unwrap_err().code, "InvalidParameterCombination");
    }
}
