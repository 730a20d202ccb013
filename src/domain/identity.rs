//! Who is who: usernames, roles, passwords' admissible shape.

use std::fmt;

use super::stored::string_enum;

/// 3–64 characters of `a-z 0-9 . _ -`. Input is folded to lower case, so that uniqueness is
/// case-insensitive (`Alice` and `alice` are one user).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let folded = raw.to_lowercase();
        let n = folded.chars().count();
        if !(3..=64).contains(&n) {
            return Err(format!("must be 3 to 64 characters (got {n})"));
        }
        if !folded
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err("may contain only a-z, 0-9, '.', '_' and '-'".into());
        }
        Ok(Self(folded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_enum!(
    /// Platform admins operate the service and belong to no delegation; the other roles exist
    /// within one delegation.
    Role {
        PlatformAdmin => "platform_admin",
        Admin => "admin",
        Scheduler => "scheduler",
        Viewer => "viewer",
    }
);

pub const MIN_PASSWORD_CHARS: usize = crate::config::MIN_PASSWORD_CHARS;
/// Bounded so that hashing cost stays bounded.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// A new password's admissible shape (length in characters, not bytes).
pub fn check_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(format!("must be at most {MAX_PASSWORD_CHARS} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_fold_case_and_are_checked() {
        assert_eq!(
            Username::parse("Alice.Smith").unwrap().as_str(),
            "alice.smith"
        );
        for good in ["bob", "a_b-c.d", "x9x", &"a".repeat(64)] {
            assert!(Username::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "",
            "bob smith",
            "bob@mfa",
            "жан",
            &"a".repeat(65),
            "bob\n",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn roles_round_trip() {
        for role in [
            Role::PlatformAdmin,
            Role::Admin,
            Role::Scheduler,
            Role::Viewer,
        ] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn password_length_counts_characters() {
        assert!(
            check_new_password("ééééééééééé").is_err(),
            "11 characters, 22 bytes"
        );
        assert!(check_new_password("éééééééééééé").is_ok());
        assert!(check_new_password(&"x".repeat(1025)).is_err());
    }
}
