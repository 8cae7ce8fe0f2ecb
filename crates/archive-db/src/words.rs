//! Values stored as one word in a text column (a status, a role, an
//! outcome): enums in Rust, words in the database and in JSON.

/// Declares an enum whose variants are stored as the given words: `as_str`,
/// `Display`, `FromStr` and `TryFrom<String>` (for `#[sqlx(try_from =
/// "String")]`) all use them, and so does serde. `ALL` lists the variants.
macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $word)] $variant ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::DbError;
            fn from_str(s: &str) -> Result<Self, $crate::DbError> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err($crate::DbError::invalid(
                        $what,
                        format!("{} must be one of {}, not {other:?}", $what, [$($word),+].join(", ")),
                    )),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::DbError;
            fn try_from(s: String) -> Result<Self, $crate::DbError> {
                s.parse()
            }
        }
    };
}
pub(crate) use word_enum;
