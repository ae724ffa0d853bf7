//! Messages a service pushes to a callback URL, once decrypted (see `callback`): their XML
//! read into members, the common header taken out, and the payload typed by the generated
//! event types (`qywx::wecom::events::Event::decode`). A message no event of the spec
//! describes is kept as [`UnknownEvent`], its XML as it came.

use quick_xml::events::Event as XmlEvent;
use serde_json::{Map, Value};

use crate::codec::{DecodeError, Decoded};

/// A pushed message: who it is for and from, when, and what it says.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Pushed<E> {
    /// `ToUserName`: the corp id.
    pub to_user_name: Option<String>,
    /// `FromUserName` (`sys` for contact changes).
    pub from_user_name: Option<String>,
    /// `CreateTime`, a Unix timestamp.
    pub create_time: Option<i64>,
    /// `MsgType` (`event`).
    pub msg_type: Option<String>,
    /// The event, typed.
    pub event: E,
}

/// A message no event of the spec describes (a change type added after this version, or
/// another kind of message), kept as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// `Event`.
    pub event: Option<String>,
    /// `ChangeType`.
    pub change_type: Option<String>,
    /// The message's XML.
    pub xml: String,
}

/// The members of a message: each child of the root element by name; an element holding text
/// (plain or CDATA) is a string, one holding elements an object, and a name that repeats (or
/// `Item`) a list. A DTD is skipped, never expanded.
pub fn xml_members(xml: &str) -> Decoded<Map<String, Value>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    // The open elements: (name, members so far, text so far).
    let mut stack: Vec<(String, Map<String, Value>, String)> = Vec::new();
    let bad = |e: &dyn std::fmt::Display| DecodeError::new(format!("not XML: {e}"));
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            XmlEvent::Start(e) => {
                stack.push((String::from_utf8_lossy(e.name().as_ref()).into_owned(), Map::new(), String::new()));
            }
            XmlEvent::Empty(e) => {
                if let Some((_, members, _)) = stack.last_mut() {
                    add(members, String::from_utf8_lossy(e.name().as_ref()).into_owned(), Value::String(String::new()));
                }
            }
            XmlEvent::Text(t) => {
                if let Some((_, _, text)) = stack.last_mut() {
                    text.push_str(&t.decode().map_err(|e| bad(&e))?);
                }
            }
            XmlEvent::CData(t) => {
                if let Some((_, _, text)) = stack.last_mut() {
                    text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            XmlEvent::GeneralRef(r) => {
                // An entity in text (`&amp;`): its character.
                if let Some((_, _, text)) = stack.last_mut() {
                    let name = String::from_utf8_lossy(&r);
                    let resolved = quick_xml::escape::resolve_xml_entity(&name)
                        .map(str::to_owned)
                        .or_else(|| r.resolve_char_ref().ok().flatten().map(String::from));
                    // No entity is declared in a message (a DTD's are never expanded): an
                    // unknown one is an error, not an empty string.
                    text.push_str(&resolved.ok_or_else(|| bad(&"an undeclared entity"))?);
                }
            }
            XmlEvent::End(_) => {
                let Some((name, members, text)) = stack.pop() else {
                    return Err(bad(&"an end tag without its start"));
                };
                let value = if members.is_empty() {
                    Value::String(text.trim().to_owned())
                } else {
                    Value::Object(members)
                };
                match stack.last_mut() {
                    Some((_, parent, _)) => add(parent, name, value),
                    None => {
                        return match value {
                            Value::Object(members) => Ok(members),
                            _ => Ok(Map::new()),
                        }
                    }
                }
            }
            XmlEvent::Eof => return Err(bad(&"the message ends before its root element does")),
            _ => {}
        }
    }
}

/// Adds a member; a name that repeats becomes a list, and so does `Item` (WeCom's element for
/// the entries of a list, as in `ExtAttr`) when it comes once.
fn add(members: &mut Map<String, Value>, name: String, value: Value) {
    match members.get_mut(&name) {
        Some(Value::Array(items)) => items.push(value),
        Some(first) => {
            let first = std::mem::take(first);
            members.insert(name, Value::Array(vec![first, value]));
        }
        None if name.eq_ignore_ascii_case("item") => {
            members.insert(name, Value::Array(vec![value]));
        }
        None => {
            members.insert(name, value);
        }
    }
}

fn take_text(members: &mut Map<String, Value>, name: &str) -> Option<String> {
    match members.remove(name)? {
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Decodes the message `xml`: its header, then its payload by `known` (the generated match on
/// `Event` and `ChangeType`, `None` for a message it does not know), else `unknown`.
pub fn decode<E>(
    xml: &str,
    known: impl FnOnce(&str, Option<&str>, &Value) -> Option<Decoded<E>>,
    unknown: impl FnOnce(UnknownEvent) -> E,
) -> Decoded<Pushed<E>> {
    let mut members = xml_members(xml)?;
    let to_user_name = take_text(&mut members, "ToUserName");
    let from_user_name = take_text(&mut members, "FromUserName");
    let create_time = take_text(&mut members, "CreateTime").and_then(|t| t.trim().parse().ok());
    let msg_type = take_text(&mut members, "MsgType");
    let event_name = take_text(&mut members, "Event");
    let change_type = take_text(&mut members, "ChangeType");
    let payload = Value::Object(members);
    let event = match event_name
        .as_deref()
        .and_then(|e| known(e, change_type.as_deref(), &payload))
    {
        Some(decoded) => decoded?,
        None => unknown(UnknownEvent {
            event: event_name,
            change_type,
            xml: xml.to_owned(),
        }),
    };
    Ok(Pushed {
        to_user_name,
        from_user_name,
        create_time,
        msg_type,
        event,
    })
}

/// The XML of a pushed message (before encryption): the header, then the payload's members
/// (`payload`, as its type writes it) as elements: text escaped, an object's members nested, a
/// list's items repeated under its name. What an emulator or a test pushes; [`xml_members`]
/// reads it back.
pub fn encode(
    to_user_name: &str,
    from_user_name: &str,
    create_time: i64,
    event: &str,
    change_type: Option<&str>,
    payload: &Value,
) -> String {
    let mut xml = String::from("<xml>");
    element(&mut xml, "ToUserName", &Value::from(to_user_name));
    element(&mut xml, "FromUserName", &Value::from(from_user_name));
    element(&mut xml, "CreateTime", &Value::from(create_time));
    element(&mut xml, "MsgType", &Value::from("event"));
    element(&mut xml, "Event", &Value::from(event));
    if let Some(change) = change_type {
        element(&mut xml, "ChangeType", &Value::from(change));
    }
    if let Value::Object(members) = payload {
        for (name, value) in members {
            element(&mut xml, name, value);
        }
    }
    xml.push_str("</xml>");
    xml
}

/// One member as elements (none for `null`).
fn element(xml: &mut String, name: &str, value: &Value) {
    let text = match value {
        Value::Null => return,
        Value::Array(items) => return items.iter().for_each(|item| element(xml, name, item)),
        Value::Object(members) => {
            xml.push_str(&format!("<{name}>"));
            members.iter().for_each(|(member, value)| element(xml, member, value));
            xml.push_str(&format!("</{name}>"));
            return;
        }
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    xml.push_str(&format!("<{name}>{}</{name}>", quick_xml::escape::escape(text.as_str())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_text_objects_and_repeats_lists() {
        let xml = "<xml><ToUserName><![CDATA[toUser]]></ToUserName><ChangeType>update_user</ChangeType>\
                   <Name>A &amp; B</Name><Empty/><ExtAttr><Item><Name>爱好</Name></Item><Item><Name>x</Name></Item></ExtAttr></xml>";
        let members = xml_members(xml).unwrap();
        assert_eq!(members["ToUserName"], "toUser");
        assert_eq!(members["ChangeType"], "update_user");
        assert_eq!(members["Name"], "A & B");
        assert_eq!(members["Empty"], "");
        assert_eq!(members["ExtAttr"]["Item"][1]["Name"], "x");
        let one = xml_members("<xml><ExtAttr><Item><Name>a</Name></Item></ExtAttr></xml>").unwrap();
        assert_eq!(one["ExtAttr"]["Item"][0]["Name"], "a", "one Item is a list of one");
        // A billion laughs: the DTD's entities are never expanded; their use is an error.
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><xml><Name>&b;</Name></xml>";
        assert!(xml_members(bomb).is_err());
        assert!(xml_members("<xml><a>").is_err());
        assert!(xml_members("not xml at all <").is_err());
        // What `encode` writes reads back member for member.
        let payload = serde_json::json!({"UserID": "a<&>b", "Department": "1,2", "ExtAttr": {"Item": [{"Name": "x"}]}, "Gone": null});
        let xml = encode("ww1", "sys", 7, "change_contact", Some("update_user"), &payload);
        let read = xml_members(&xml).unwrap();
        assert_eq!((read["UserID"].as_str(), read["Department"].as_str()), (Some("a<&>b"), Some("1,2")));
        assert_eq!((read["CreateTime"].as_str(), read["ChangeType"].as_str()), (Some("7"), Some("update_user")));
        assert_eq!(read["ExtAttr"]["Item"][0]["Name"], "x");
        assert!(!read.contains_key("Gone"));
    }
}
