//! Lightspeed as the flows use it: the connection (secret, rotating tokens written back
//! under a lease, the OAuth connection steps) and the stream helpers every Lightspeed
//! source shares (records changed since the cursor by `timeStamp`, pages by `next` link).

mod connection;
mod stream;

pub use connection::{
    CONNECTION_WINDOW, ClaimLease, ConnectionError, LightspeedSecret, PendingConnection,
    SecretTokenStore, StoredTokens, begin_connection, complete_connection, connect, external,
};
pub use stream::{
    TIME_STAMP, changed_since, changed_since_by, keyed, keyed_by, read_page, read_page_by,
    rejected_error, signpost,
};
