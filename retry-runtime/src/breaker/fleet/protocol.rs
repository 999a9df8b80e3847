//! The fleet's data model in Redis: keys, messages and scripts. Described for
//! people in `docs/ARCHITECTURE.md` ("The fleet on Redis"); keep both in step.
//!
//! Every key starts with `retry:{NAMESPACE}:` (the braces make it one Redis
//! Cluster hash slot) and has an expiry. Times are Redis's own clock (`TIME`),
//! so instances on machines whose clocks disagree still agree on expiries.

use std::fmt::Write as _;
use std::time::Duration;

/// How often an instance heartbeats, refreshes its reports and reconciles.
pub(super) const TICK: Duration = Duration::from_millis(500);
/// How long a report of an open breaker (and an instance's heartbeat) lives
/// unless refreshed: a crashed or partitioned instance stops counting toward
/// a quorum after at most this long.
pub(super) const REPORT_TTL: Duration = Duration::from_secs(3);
/// How long the trial lock lives unless its holder refreshes it (it does
/// while its trials run): a crashed prober wedges the fleet's trials no longer.
pub(super) const LOCK_TTL: Duration = Duration::from_secs(3);
/// How long forced states outlive the last instance that refreshes them.
pub(super) const FORCED_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Redis answers slower than this count as a lost connection.
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Milliseconds, for Redis.
pub(super) fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The keys and the channel of one namespace.
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(namespace: &str) -> Keys {
        Keys {
            prefix: format!("retry:{{{namespace}}}:"),
        }
    }

    /// `retry:{ns}:`, for scripts that build a breaker's key from its id.
    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Sorted set: live instance ids, scored by when their heartbeat expires.
    pub(super) fn instances(&self) -> String {
        format!("{}instances", self.prefix)
    }

    /// Sorted set: ids of breakers some instance reports open, scored by when
    /// the latest report expires. The reconciliation reads it instead of
    /// scanning the keyspace.
    pub(super) fn open_index(&self) -> String {
        format!("{}open", self.prefix)
    }

    /// Sorted set: instances reporting breaker `id` open, scored by when each
    /// report expires.
    pub(super) fn open(&self, id: &str) -> String {
        format!("{}open:{id}", self.prefix)
    }

    /// String: the instance holding breaker `id`'s trial lock.
    pub(super) fn lock(&self, id: &str) -> String {
        format!("{}lock:{id}", self.prefix)
    }

    /// Hash: breaker id → `forced_open` or `disabled`, set for the fleet.
    pub(super) fn forced(&self) -> String {
        format!("{}forced", self.prefix)
    }

    /// The pub/sub channel of the namespace's messages.
    pub(super) fn channel(&self) -> String {
        format!("{}events", self.prefix)
    }
}

/// A breaker's id in keys and messages: its name, then `#` and its key for a
/// keyed instance, each with `%`, `#`, `,`, spaces and control characters
/// percent-encoded, so an id is one word and splits back unambiguously.
pub(super) fn id(name: &str, key: Option<&str>) -> String {
    let mut id = String::with_capacity(name.len() + key.map_or(0, |k| k.len() + 1));
    encode(name, &mut id);
    if let Some(key) = key {
        id.push('#');
        encode(key, &mut id);
    }
    id
}

fn encode(text: &str, out: &mut String) {
    for c in text.chars() {
        if matches!(c, '%' | '#' | ',') || c.is_whitespace() || c.is_control() {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
}

/// The name and key of an id; `None` if it is not one we write.
pub(super) fn parse_id(id: &str) -> Option<(String, Option<String>)> {
    let mut parts = id.splitn(2, '#');
    let name = decode(parts.next()?)?;
    let key = match parts.next() {
        Some(key) => Some(decode(key)?),
        None => None,
    };
    Some((name, key))
}

fn decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// A message on the namespace's channel: one line of words.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Message {
    /// `r ID INSTANCE,INSTANCE,...`: who reports breaker `id` open now.
    Reports { id: String, instances: Vec<String> },
    /// `f ID forced_open|disabled|reset INSTANCE`: a state set for the fleet.
    Forced {
        id: String,
        state: Forced,
        by: String,
    },
    /// `t ID passed|failed INSTANCE`: the fleet's trial calls' verdict.
    Verdict {
        id: String,
        passed: bool,
        by: String,
    },
    /// `u ID`: the trial lock of `id` is free.
    Unlocked { id: String },
}

/// A state set for the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Forced {
    Open,
    Disabled,
    Reset,
}

impl Forced {
    pub(super) fn word(self) -> &'static str {
        match self {
            Forced::Open => "forced_open",
            Forced::Disabled => "disabled",
            Forced::Reset => "reset",
        }
    }

    pub(super) fn parse(word: &str) -> Option<Forced> {
        Some(match word {
            "forced_open" => Forced::Open,
            "disabled" => Forced::Disabled,
            "reset" => Forced::Reset,
            _ => return None,
        })
    }
}

impl Message {
    /// The message's text (what the scripts publish).
    pub(super) fn text(&self) -> String {
        match self {
            Message::Reports { id, instances } => format!("r {id} {}", instances.join(",")),
            Message::Forced { id, state, by } => format!("f {id} {} {by}", state.word()),
            Message::Verdict { id, passed, by } => {
                format!("t {id} {} {by}", if *passed { "passed" } else { "failed" })
            }
            Message::Unlocked { id } => format!("u {id}"),
        }
    }

    /// Reads a message; `None` for anything else on the channel.
    pub(super) fn parse(text: &str) -> Option<Message> {
        let mut words = text.split(' ');
        let kind = words.next()?;
        let id = words.next()?.to_owned();
        let message = match kind {
            "r" => Message::Reports {
                id,
                instances: members(words.next().unwrap_or("")),
            },
            "f" => Message::Forced {
                id,
                state: Forced::parse(words.next()?)?,
                by: words.next()?.to_owned(),
            },
            "t" => Message::Verdict {
                id,
                passed: match words.next()? {
                    "passed" => true,
                    "failed" => false,
                    _ => return None,
                },
                by: words.next()?.to_owned(),
            },
            "u" => Message::Unlocked { id },
            _ => return None,
        };
        words.next().is_none().then_some(message)
    }
}

/// Instance ids joined by commas.
pub(super) fn members(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Lua: the server's clock in milliseconds, as `now`.
const NOW: &str = "local t = redis.call('TIME')\n\
     local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

/// Reports breaker `id` open (`ARGV[4] = "open"`) or no longer open by this
/// instance, drops expired reports, keeps the index, and publishes who
/// reports it now. KEYS: open set, index. ARGV: instance, id, ttl ms,
/// open|closed, channel. Returns the reporting instances.
pub(super) fn report_script() -> String {
    format!(
        "{NOW}\
         local ttl = tonumber(ARGV[3])\n\
         redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n\
         if ARGV[4] == 'open' then\n\
           redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])\n\
         else\n\
           redis.call('ZREM', KEYS[1], ARGV[1])\n\
         end\n\
         local members = redis.call('ZRANGE', KEYS[1], 0, -1)\n\
         if #members == 0 then\n\
           redis.call('DEL', KEYS[1])\n\
           redis.call('ZREM', KEYS[2], ARGV[2])\n\
         else\n\
           redis.call('PEXPIRE', KEYS[1], ttl)\n\
           redis.call('ZADD', KEYS[2], now + ttl, ARGV[2])\n\
         end\n\
         if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end\n\
         redis.call('PUBLISH', ARGV[5], 'r ' .. ARGV[2] .. ' ' .. table.concat(members, ','))\n\
         return members\n"
    )
}

/// The heartbeat and the reconciliation, in one round trip: refreshes this
/// instance's heartbeat and its reports of `ARGV[5..]`, keeps the forced
/// states alive, and returns what the fleet holds: the number of live
/// instances, the forced states (`id state id state ...`), then for each
/// breaker reported open its id and its reporting instances (comma-joined).
/// KEYS: instances, index, forced. ARGV: instance, report ttl ms, key
/// prefix, forced ttl ms, ids reported open by this instance.
pub(super) fn tick_script() -> String {
    format!(
        "{NOW}\
         local ttl = tonumber(ARGV[2])\n\
         redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n\
         redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])\n\
         redis.call('PEXPIRE', KEYS[1], ttl)\n\
         for i = 5, #ARGV do\n\
           local k = ARGV[3] .. 'open:' .. ARGV[i]\n\
           redis.call('ZADD', k, now + ttl, ARGV[1])\n\
           redis.call('PEXPIRE', k, ttl)\n\
           redis.call('ZADD', KEYS[2], now + ttl, ARGV[i])\n\
         end\n\
         redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n\
         if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end\n\
         if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[4]) end\n\
         local out = {{tostring(redis.call('ZCOUNT', KEYS[1], now, '+inf')), table.concat(redis.call('HGETALL', KEYS[3]), ' ')}}\n\
         for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now, '+inf')) do\n\
           local members = redis.call('ZRANGEBYSCORE', ARGV[3] .. 'open:' .. id, now, '+inf')\n\
           if #members > 0 then\n\
             table.insert(out, id)\n\
             table.insert(out, table.concat(members, ','))\n\
           end\n\
         end\n\
         return out\n"
    )
}

/// Sets (or, for `reset`, clears) a forced state for the fleet and
/// publishes it. KEYS: forced. ARGV: id, forced_open|disabled|reset, forced
/// ttl ms, channel, message.
pub(super) const FORCE_SCRIPT: &str = "\
    if ARGV[2] == 'reset' then\n\
      redis.call('HDEL', KEYS[1], ARGV[1])\n\
    else\n\
      redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n\
      redis.call('PEXPIRE', KEYS[1], ARGV[3])\n\
    end\n\
    redis.call('PUBLISH', ARGV[4], ARGV[5])\n\
    return 1\n";

/// Takes the trial lock if it is free: 1 when this instance holds it now,
/// 0 when another does, 2 or 3 when the last trials' verdict (passed or
/// failed) still stands in its place. KEYS: lock. ARGV: instance, ttl ms.
pub(super) const LOCK_SCRIPT: &str = "\
    local holder = redis.call('GET', KEYS[1])\n\
    if not holder then\n\
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n\
      return 1\n\
    end\n\
    if holder == ARGV[1] then\n\
      redis.call('PEXPIRE', KEYS[1], ARGV[2])\n\
      return 1\n\
    end\n\
    if holder == '=passed' then return 2 end\n\
    if holder == '=failed' then return 3 end\n\
    return 0\n";

/// What [`LOCK_SCRIPT`] answered.
pub(super) enum Lock {
    Held,
    Taken,
    Verdict(bool),
}

impl Lock {
    pub(super) fn of(answer: i64) -> Lock {
        match answer {
            1 => Lock::Held,
            2 => Lock::Verdict(true),
            3 => Lock::Verdict(false),
            _ => Lock::Taken,
        }
    }
}

/// Extends the trial lock if this instance holds it: 1, else 0. KEYS: lock.
/// ARGV: instance, ttl ms.
pub(super) const REFRESH_SCRIPT: &str = "\
    if redis.call('GET', KEYS[1]) == ARGV[1] then\n\
      redis.call('PEXPIRE', KEYS[1], ARGV[2])\n\
      return 1\n\
    end\n\
    return 0\n";

/// Frees the trial lock if this instance holds it, and publishes a message.
/// After trials, the lock is not deleted but replaced by their verdict
/// (`=passed` or `=failed`) for a short while: an instance that asks for the
/// lock then learns the verdict, even if it missed the message. KEYS: lock.
/// ARGV: instance, channel, message, verdict marker (empty: delete), marker ttl ms.
pub(super) const RELEASE_SCRIPT: &str = "\
    if redis.call('GET', KEYS[1]) == ARGV[1] then\n\
      if ARGV[4] == '' then\n\
        redis.call('DEL', KEYS[1])\n\
      else\n\
        redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])\n\
      end\n\
    end\n\
    redis.call('PUBLISH', ARGV[2], ARGV[3])\n\
    return 1\n";

/// How long a verdict stands in the lock's place: half the breaker's
/// `open_duration`, at most a second (so it is gone before the next trials
/// are due).
pub(super) fn verdict_ttl(open_duration: Duration) -> Duration {
    (open_duration / 2)
        .min(Duration::from_secs(1))
        .max(Duration::from_millis(1))
}

/// Drops this instance's heartbeat on leaving. KEYS: instances. ARGV: instance.
pub(super) const LEAVE_SCRIPT: &str = "\
    redis.call('ZREM', KEYS[1], ARGV[1])\n\
    return 1\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_word_and_read_back() {
        for (name, key) in [
            ("payments", None),
            ("hosts", Some("db-1.internal:5432")),
            ("a#b", Some("x y,z%\n")),
            ("ü", Some("")),
        ] {
            let id = id(name, key);
            assert!(!id.contains([' ', ',', '\n']), "{id}");
            assert_eq!(id.matches('#').count(), usize::from(key.is_some()), "{id}");
            assert_eq!(
                parse_id(&id),
                Some((name.to_owned(), key.map(str::to_owned)))
            );
        }
        assert_eq!(parse_id("bad%zz"), None);
    }

    #[test]
    fn messages_read_back() {
        let messages = [
            Message::Reports {
                id: id("hosts", Some("a b")),
                instances: vec!["1-ab".into(), "2-cd".into()],
            },
            Message::Reports {
                id: "p".into(),
                instances: vec![],
            },
            Message::Forced {
                id: "p".into(),
                state: Forced::Disabled,
                by: "1-ab".into(),
            },
            Message::Verdict {
                id: "p".into(),
                passed: false,
                by: "1-ab".into(),
            },
            Message::Unlocked { id: "p".into() },
        ];
        for message in messages {
            assert_eq!(Message::parse(&message.text()), Some(message));
        }
        assert_eq!(Message::parse("x p"), None);
        assert_eq!(Message::parse("f p maybe 1"), None);
    }

    #[test]
    fn keys_share_the_namespace_slot() {
        let keys = Keys::new("checkout");
        for key in [
            keys.instances(),
            keys.open_index(),
            keys.open("p"),
            keys.lock("p"),
            keys.forced(),
            keys.channel(),
        ] {
            assert!(key.starts_with("retry:{checkout}:"), "{key}");
        }
    }
}
