//! Who may do what. The service layer asks these questions and also applies the same rules in
//! its queries (so that foreign rows are never loaded); this is the one place they are written.

use super::identity::Role;
use super::stored::{DelegationId, UserId};

/// An authenticated caller, as the database knows them now (not as an old token claimed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    pub delegation_id: Option<DelegationId>,
    /// Its delegation's time zone (IANA name), read with the account: the zone a schedule is
    /// shown in unless the caller names one.
    pub delegation_time_zone: Option<String>,
}

impl Principal {
    pub fn is_platform_admin(&self) -> bool {
        self.role == Role::PlatformAdmin
    }

    /// Member of that delegation, whatever the role.
    pub fn belongs_to(&self, delegation_id: &DelegationId) -> bool {
        self.delegation_id.as_ref() == Some(delegation_id)
    }

    /// Creating delegations and forums is the platform's business.
    pub fn may_create_delegations(&self) -> bool {
        self.is_platform_admin()
    }

    /// Editing a delegation and managing its users: the platform admin, or its own admin.
    pub fn may_administer(&self, delegation_id: &DelegationId) -> bool {
        self.is_platform_admin() || (self.role == Role::Admin && self.belongs_to(delegation_id))
    }

    /// Booking and changing meetings on behalf of a delegation.
    pub fn may_schedule_for(&self, delegation_id: &DelegationId) -> bool {
        matches!(self.role, Role::Admin | Role::Scheduler) && self.belongs_to(delegation_id)
    }

    /// Acting for a delegation towards another one (proposing and moving contact channels):
    /// its admins only.
    pub fn may_speak_for(&self, delegation_id: &DelegationId) -> bool {
        self.role == Role::Admin && self.belongs_to(delegation_id)
    }

    /// Reading the audit log: platform admins (everything) and delegation admins (what their
    /// delegation is party to).
    pub fn may_read_audit(&self) -> bool {
        matches!(self.role, Role::PlatformAdmin | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, delegation: Option<&str>) -> Principal {
        Principal {
            user_id: "u".into(),
            username: "u".into(),
            role,
            delegation_id: delegation.map(DelegationId::from),
            delegation_time_zone: None,
        }
    }

    /// Every role × own/foreign delegation × question, against a table.
    #[test]
    fn the_access_table() {
        let platform = who(Role::PlatformAdmin, None);
        let admin = who(Role::Admin, Some("own"));
        let scheduler = who(Role::Scheduler, Some("own"));
        let viewer = who(Role::Viewer, Some("own"));
        // (principal, administer own, administer foreign, schedule own, schedule foreign, create
        // delegations, audit, speak for own)
        let table = [
            (&platform, true, true, false, false, true, true, false),
            (&admin, true, false, true, false, false, true, true),
            (&scheduler, false, false, true, false, false, false, false),
            (&viewer, false, false, false, false, false, false, false),
        ];
        let (own, foreign) = (DelegationId::from("own"), DelegationId::from("foreign"));
        for (p, adm_own, adm_foreign, sch_own, sch_foreign, create, audit, speak) in table {
            assert_eq!(p.may_speak_for(&own), speak, "{:?}", p.role);
            assert!(!p.may_speak_for(&foreign), "{:?}", p.role);
            assert_eq!(p.may_administer(&own), adm_own, "{:?}", p.role);
            assert_eq!(p.may_administer(&foreign), adm_foreign, "{:?}", p.role);
            assert_eq!(p.may_schedule_for(&own), sch_own, "{:?}", p.role);
            assert_eq!(p.may_schedule_for(&foreign), sch_foreign, "{:?}", p.role);
            assert_eq!(p.may_create_delegations(), create, "{:?}", p.role);
            assert_eq!(p.may_read_audit(), audit, "{:?}", p.role);
        }
    }
}
