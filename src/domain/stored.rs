//! The two shapes every stored value takes at the edges: closed sets of words (`string_enum!`,
//! stored and sent as their snake_case text) and typed ids (`typed_id!`, text UUIDs).

/// An enum kept in the database and sent over the API as one snake_case word per variant:
/// `as_str` and `parse` are written once here, and `ALL` lists the variants in order.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            pub const ALL: [Self; [$(stringify!($variant)),+].len()] = [$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        impl $crate::domain::stored::StringEnum for $name {
            const WHAT: &'static str = stringify!($name);

            fn parse(raw: &str) -> Option<Self> {
                Self::parse(raw)
            }
        }
    };
}
pub(crate) use string_enum;

/// What `string_enum!` makes: read back from its stored word (`store::stored` turns a word no
/// variant has into the one error for corrupt stored data).
pub trait StringEnum: Sized + Copy {
    const WHAT: &'static str;
    fn parse(raw: &str) -> Option<Self>;
}

/// An id of one kind of row: a UUIDv7 as text, made by the application. A meeting id cannot be
/// passed where a delegation id is expected. Serialised as the bare string.
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new, time-ordered id (UUIDv7: good index locality, sorts by creation).
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(raw: String) -> Self {
                Self(raw)
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                Self(raw.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

typed_id!(
    /// A meeting (a single meeting or a whole series).
    MeetingId
);
typed_id!(
    /// A delegation: a state, an organisation, or another party.
    DelegationId
);
typed_id!(
    /// A contact channel between two delegations.
    ChannelId
);
typed_id!(
    /// A forum: a multilateral platform with member delegations.
    ForumId
);
typed_id!(
    /// A user account.
    UserId
);
typed_id!(
    /// A calendar feed.
    FeedId
);

#[cfg(test)]
mod tests {
    use super::*;

    string_enum!(Colour { Red => "red", DeepBlue => "deep_blue" });

    #[test]
    fn words_round_trip_and_match_serde() {
        for c in Colour::ALL {
            assert_eq!(Colour::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        assert_eq!(Colour::parse("Red"), None);
        assert_eq!(<Colour as StringEnum>::WHAT, "Colour");
    }

    #[test]
    fn ids_are_bare_strings_and_distinct_types() {
        let id = MeetingId::generate();
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
        let back: MeetingId = serde_json::from_str(&format!("\"{id}\"")).unwrap();
        assert_eq!(back, id);
        assert!(MeetingId::generate() > id, "UUIDv7 ids sort by creation");
        let map: std::collections::HashMap<MeetingId, u8> = [(id.clone(), 1)].into();
        assert_eq!(map.get(id.as_str()), Some(&1));
    }
}
