//! The control language: one command per line, one reply line per command.
//! The binary speaks it on stdin/stdout and on its `--control` socket; a
//! test that embeds a [`Link`] can call [`execute`] directly.
//!
//! How to drive it: pass each input line to [`execute`]; write
//! [`Response::reply`] (if any) as a line; stop when [`Response::quit`].
//!
//! | command | reply |
//! |---|---|
//! | `set a_to_b|b_to_a KEY=VALUE…` | `ok a_to_b delay=…,jitter=…,…` (the whole new setting) |
//! | `show` | `{"a_to_b":"delay=…,…","b_to_a":"delay=…,…"}` |
//! | `stats` | one line of JSON, see [`crate::LinkStats::to_json`] |
//! | `addrs` | `{"a_listen":"…","b_listen":"…","return":"…" or null}` |
//! | `help` | the command list |
//! | `quit` | `ok`, then the caller stops |
//!
//! Keys of `set` are those of [`crate::Direction::updated`] (as on the
//! command line); unnamed keys keep their value.
//! An unknown or malformed command is answered `error: …` and changes
//! nothing. Blank lines and lines starting with `#` get no reply, so a
//! commented script can be piped in.

use crate::link::Link;

/// What to do after one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The line to print, without its newline; `None` for blank and comment
    /// lines.
    pub reply: Option<String>,
    /// True after `quit`.
    pub quit: bool,
}

impl Response {
    fn reply(text: String) -> Self {
        Self {
            reply: Some(text),
            quit: false,
        }
    }
}

const HELP: &str = "commands: set a_to_b|b_to_a key=value… (keys: delay jitter loss reorder mtu up), \
                    show, stats, addrs, help, quit";

/// Runs one command line against `link`.
pub fn execute(link: &Link, line: &str) -> Response {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Response {
            reply: None,
            quit: false,
        };
    }
    let (command, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let no_arguments = |reply: String| {
        if rest.is_empty() {
            reply
        } else {
            format!("error: `{command}` takes no arguments")
        }
    };
    match command {
        "set" => Response::reply(set(link, rest)),
        "show" => Response::reply(no_arguments(format!(
            "{{\"a_to_b\":\"{}\",\"b_to_a\":\"{}\"}}",
            link.a_to_b(),
            link.b_to_a()
        ))),
        "stats" => Response::reply(no_arguments(link.stats().to_json())),
        "addrs" => {
            let local = link.local_addrs();
            let back = link
                .return_address()
                .map_or("null".to_owned(), |a| format!("\"{a}\""));
            Response::reply(no_arguments(format!(
                "{{\"a_listen\":\"{}\",\"b_listen\":\"{}\",\"return\":{back}}}",
                local.a, local.b
            )))
        }
        "help" => Response::reply(HELP.to_owned()),
        "quit" | "exit" => {
            let reply = no_arguments("ok".to_owned());
            let quit = reply == "ok";
            Response {
                reply: Some(reply),
                quit,
            }
        }
        _ => Response::reply(format!("error: unknown command `{command}`; {HELP}")),
    }
}

/// `set a_to_b delay=10ms loss=0`: the reply line.
fn set(link: &Link, arguments: &str) -> String {
    let (which, spec) = arguments
        .split_once(char::is_whitespace)
        .unwrap_or((arguments, ""));
    let (current, apply): (_, fn(&Link, _) -> _) = match which {
        "a_to_b" => (link.a_to_b(), Link::set_a_to_b),
        "b_to_a" => (link.b_to_a(), Link::set_b_to_a),
        "" => return "error: set needs a direction: set a_to_b|b_to_a key=value…".to_owned(),
        other => return format!("error: unknown direction `{other}` (a_to_b or b_to_a)"),
    };
    if spec.trim().is_empty() {
        return format!("error: set {which} needs key=value items");
    }
    match current.updated(spec) {
        Ok(new) => match apply(link, new) {
            Ok(()) => format!("ok {which} {new}"),
            Err(e) => format!("error: {which}: {e}"),
        },
        Err(e) => format!("error: {which}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LinkConfig;
    use std::time::Duration;

    fn link() -> Link {
        let any = "127.0.0.1:0".parse().unwrap();
        // b_peer is our own (closed) discard target; nothing is sent here.
        Link::spawn(LinkConfig::new(any, any, "127.0.0.1:9".parse().unwrap())).unwrap()
    }

    fn reply(link: &Link, line: &str) -> String {
        execute(link, line).reply.unwrap()
    }

    #[test]
    fn set_changes_only_the_named_keys_of_one_direction() {
        let link = link();
        let r = reply(&link, "set a_to_b delay=10ms loss=0.5");
        assert_eq!(
            r,
            "ok a_to_b delay=10ms,jitter=0,loss=0.5,reorder=false,mtu=none,up=true"
        );
        let r = reply(&link, "set a_to_b up=false, jitter=1ms");
        assert!(
            r.starts_with("ok a_to_b delay=10ms,jitter=1ms,loss=0.5,"),
            "{r}"
        );
        assert_eq!(link.a_to_b().delay, Duration::from_millis(10));
        assert!(!link.a_to_b().up);
        assert_eq!(
            link.b_to_a(),
            crate::Direction::default(),
            "other direction untouched"
        );
        let show = reply(&link, "show");
        assert!(
            show.starts_with("{\"a_to_b\":\"delay=10ms,jitter=1ms"),
            "{show}"
        );
    }

    #[test]
    fn bad_commands_are_answered_and_change_nothing() {
        let link = link();
        for (line, want) in [
            ("set", "set needs a direction"),
            ("set sideways delay=1ms", "unknown direction `sideways`"),
            ("set b_to_a", "needs key=value"),
            ("set b_to_a delay=fast", "b_to_a: delay: `fast`"),
            ("set b_to_a delay=5ms loss=2", "b_to_a: loss: `2`"),
            ("jump", "unknown command `jump`"),
            ("stats now", "`stats` takes no arguments"),
        ] {
            let r = reply(&link, line);
            assert!(r.starts_with("error: ") && r.contains(want), "{line}: {r}");
        }
        assert_eq!(
            link.b_to_a(),
            crate::Direction::default(),
            "a failed set is atomic"
        );
        assert!(!execute(&link, "quit now").quit);
    }

    #[test]
    fn stats_addrs_quit_and_silent_lines() {
        let link = link();
        assert!(reply(&link, "stats").starts_with("{\"a_to_b\":{\"received\":0,"));
        let addrs = reply(&link, "addrs");
        let a = link.local_addrs().a;
        assert!(addrs.contains(&format!("\"a_listen\":\"{a}\"")), "{addrs}");
        assert!(addrs.ends_with("\"return\":null}"), "{addrs}");
        assert!(reply(&link, "help").contains("set a_to_b|b_to_a"));
        assert_eq!(execute(&link, "  ").reply, None);
        assert_eq!(execute(&link, "# a comment").reply, None);
        let quit = execute(&link, "quit");
        assert_eq!((quit.reply.as_deref(), quit.quit), (Some("ok"), true));
    }
}
