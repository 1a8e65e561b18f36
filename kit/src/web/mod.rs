//! Web helpers the three services share: HTML escaping (`escape`), HTML responses with
//! their security headers (`page`), the bearer token of an `Authorization` header
//! (`bearer`), reading and setting cookies (`cookies`), and the pages' language with
//! its switch and dates (`lang`).
//! Problem+json answers and the JSON body parser that names the failing member are in
//! [`crate::serve`].

pub mod bearer;
pub mod cookies;
pub mod escape;
pub mod lang;
pub mod page;

pub use bearer::bearer_token;
pub use cookies::{CookiePolicy, SameSite, cookie};
pub use escape::escape_html;
pub use lang::{Lang, ShownDate};
pub use page::html_page;
