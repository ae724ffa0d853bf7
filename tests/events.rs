//! Pushed contact changes decode into the generated `Event`: the official examples, the
//! 2022-08-15 minimal form, `ChangeType` bare or in CDATA, comma-separated lists, and a message
//! this version does not know, kept as it came.

use qywx::wecom::events::Event;

/// 96302's example of 新增成员事件 (as far as the stored page shows it, without ExtAttr).
const CREATE_USER: &str = "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName> \n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType>create_user</ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<Name><![CDATA[张三]]></Name>\n\t<Department><![CDATA[1,2,3]]></Department>\n\t<MainDepartment>1</MainDepartment>\n\t<IsLeaderInDept><![CDATA[1,0,0]]></IsLeaderInDept>\n\t<DirectLeader><![CDATA[lisi,wangwu]]></DirectLeader>\n\t<Position><![CDATA[产品经理]]></Position>\n\t<Mobile>13800000000</Mobile>\n\t<Gender>1</Gender>\n\t<Email><![CDATA[zhangsan@gzdev.com]]></Email>\n\t<BizMail><![CDATA[zhangsan@qyycs2.wecom.work]]></BizMail>\n\t<Status>1</Status>\n\t<Alias><![CDATA[zhangsan]]></Alias>\n\t<Telephone><![CDATA[020-123456]]></Telephone>\n\t<Address><![CDATA[广州市]]></Address>\n</xml>";

/// 96304's example of 标签成员变更事件 (ChangeType in CDATA).
const UPDATE_TAG: &str = "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName> \n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType><![CDATA[update_tag]]></ChangeType>\n\t<TagId>1</TagId>\n\t<AddUserItems><![CDATA[zhangsan,lisi]]></AddUserItems>\n\t<DelUserItems><![CDATA[zhangsan1,lisi1]]></DelUserItems>\n\t<AddPartyItems><![CDATA[1,2]]></AddPartyItems>\n\t<DelPartyItems><![CDATA[3,4]]></DelPartyItems>\n</xml>";

#[test]
fn the_official_examples_decode_into_their_events() {
    let pushed = Event::decode(CREATE_USER).unwrap();
    assert_eq!(pushed.to_user_name.as_deref(), Some("toUser"));
    assert_eq!(pushed.from_user_name.as_deref(), Some("sys"));
    assert_eq!(pushed.create_time, Some(1403610513));
    let Event::CreateUser(user) = pushed.event else { panic!("{:?}", pushed.event) };
    assert_eq!(user.userid, "zhangsan");
    assert_eq!(user.name.as_deref(), Some("张三"));
    assert_eq!(user.department.as_deref(), Some(&["1".to_owned(), "2".to_owned(), "3".to_owned()][..]));
    assert_eq!(user.is_leader_in_dept.as_deref().map(<[String]>::len), Some(3));
    assert_eq!(user.main_department, Some(1));
    assert_eq!(user.mobile.as_deref(), Some("13800000000"));
    assert!(user.extra.is_empty(), "every member is modelled: {:?}", user.extra);

    let Event::UpdateTag(tag) = Event::decode(UPDATE_TAG).unwrap().event else { panic!() };
    assert_eq!(tag.tag_id, 1);
    assert_eq!(tag.add_user_items, Some(vec!["zhangsan".to_owned(), "lisi".to_owned()]));
    assert_eq!(tag.del_party_items, Some(vec!["3".to_owned(), "4".to_owned()]));
}

#[test]
fn the_minimal_form_unknown_members_and_unknown_changes_are_kept() {
    // After 2022-08-15 a member event carries only UserID and Department; a member this
    // version does not model lands in `extra`.
    let minimal = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType><UserID><![CDATA[lisi]]></UserID><Department><![CDATA[2]]></Department><NewUserID><![CDATA[lisi2]]></NewUserID></xml>";
    let Event::UpdateUser(user) = Event::decode(minimal).unwrap().event else { panic!() };
    assert_eq!((user.userid.as_str(), user.name.as_deref()), ("lisi", None));
    assert_eq!(user.extra["NewUserID"], "lisi2");

    let unknown = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[something_new]]></ChangeType><X>1</X></xml>";
    let Event::Unknown(kept) = Event::decode(unknown).unwrap().event else { panic!() };
    assert_eq!((kept.event.as_deref(), kept.change_type.as_deref()), (Some("change_contact"), Some("something_new")));
    assert_eq!(kept.xml, unknown);

    // A known change without its identifier is an error naming it, not a panic.
    let broken = "<xml><Event>change_contact</Event><ChangeType>delete_party</ChangeType></xml>";
    let error = Event::decode(broken).unwrap_err();
    assert!(error.to_string().contains("Id"), "{error}");
    assert!(Event::decode("<xml><broken").is_err());
}

/// 90973's example of 异步任务完成通知.
#[test]
fn a_finished_job_is_reported_by_its_event() {
    let xml = "<xml><ToUserName><![CDATA[wx28dbb14e3720FAKE]]></ToUserName>\n<FromUserName><![CDATA[FromUser]]></FromUserName>\n<CreateTime>1425284517</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[batch_job_result]]></Event>\n<BatchJob><JobId><![CDATA[S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4]]></JobId>\n<JobType><![CDATA[sync_user]]></JobType>\n<ErrCode>0</ErrCode>\n<ErrMsg><![CDATA[ok]]></ErrMsg>\n</BatchJob>\n</xml>";
    let pushed = Event::decode(xml).unwrap();
    assert_eq!(pushed.from_user_name.as_deref(), Some("FromUser"));
    let Event::BatchJobResult(job) = pushed.event else { panic!("{:?}", pushed.event) };
    assert_eq!(job.batch_job.jobid, "S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4");
    assert_eq!((job.batch_job.job_type.as_str(), job.batch_job.errcode), ("sync_user", 0));
    assert_eq!(job.batch_job.errmsg.as_deref(), Some("ok"));
}
