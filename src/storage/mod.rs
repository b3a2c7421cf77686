//! The one file layer: every file pgca writes, every directory it writes in, every lock.
//!
//! The rules, in one place:
//!
//! 1. **Trust.** Every directory on the way to one pgca writes in must be owned by root, by the
//!    user pgca runs as, or by the user the files are for, and not writable by anyone else
//!    (see [`trust`]). A symbolic link is followed only inside such directories and only when a
//!    trusted user owns it. Anything else is refused with one line naming the path and why.
//! 2. **Handles.** A directory another user can write in (a data directory, a home) is opened
//!    once as a [`Dir`] and everything below it is done relative to that handle with
//!    `O_NOFOLLOW`, never by path again: nothing can be swapped between a check and a use.
//!    Owners and modes are set on the open file (`fchown`, `fchmod`), never by path.
//!    Inside the CA directory, which only root or its owner can change, paths are safe.
//! 3. **Keys** are created with mode 0600 from the first byte (`O_CREAT|O_EXCL` with the mode),
//!    never created with the umask and chmod-ed later.
//! 4. **Atomic replacement.** Files that replace others are written to a temporary name in the
//!    same directory, fsync-ed, renamed into place, and the directory is fsync-ed: a reader sees
//!    the old file or the new one ([`Dir::replace_file`], the one atomic writer). A user's own
//!    file (a service file) goes through it too, by [`replace::replace_keeping`], which follows
//!    the user's trusted link and keeps the file's mode, owner and group.
//!    A certificate and its key are switched as one: `NAME.crt` and `NAME.key` resolve through
//!    `NAME.live`, which [`swap_symlink`] repoints with one rename (`store/issue.rs`,
//!    `link_current`).
//! 5. **Locks** ([`lock`]): writers hold an exclusive `flock` on `DIR/.lock`, readers a shared
//!    one; a deployment locks its `pgca-tls` directory; every wait is bounded.

mod handle;
mod input;
pub(crate) mod lock;
pub(crate) mod replace;
pub(crate) mod trust;
pub(crate) use handle::Dir;
pub(crate) use input::{
    Input, absolute, list_dir_trusting, open_input, read_input, read_public_trusting,
};
pub use lock::Wait;
pub(crate) use lock::{Lock, LockKind};
pub use trust::lookup_user;
pub(crate) use trust::{NewDir, Trust, invoker_ids, open_dir, user_home, user_name};
pub(crate) mod files;

pub(crate) use files::*;
pub use files::{DIR_MODE, KEY_MODE, PUBLIC_MODE};
