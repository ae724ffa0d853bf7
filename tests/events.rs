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
    assert_eq!(user.department, Some(vec![1, 2, 3]));
    assert_eq!(user.is_leader_in_dept, Some(vec![1, 0, 0]));
    assert_eq!(user.direct_leader, Some(vec!["lisi".to_owned(), "wangwu".to_owned()]));
    assert_eq!(user.main_department, Some(1));
    assert_eq!(user.mobile.as_deref(), Some("13800000000"));
    assert!(user.extra.is_empty(), "every member is modelled: {:?}", user.extra);

    let Event::UpdateTag(tag) = Event::decode(UPDATE_TAG).unwrap().event else { panic!() };
    assert_eq!(tag.tag_id, 1);
    assert_eq!(tag.add_user_items, Some(vec!["zhangsan".to_owned(), "lisi".to_owned()]));
    assert_eq!(tag.del_party_items, Some(vec![3, 4]));
}

#[test]
fn the_minimal_form_unknown_members_and_unknown_changes_are_kept() {
    // After 2022-08-15 a member event carries only UserID and Department; a member this
    // version does not model lands in `extra`.
    let minimal = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType><UserID><![CDATA[lisi]]></UserID><Department><![CDATA[2]]></Department><NewUserID><![CDATA[lisi2]]></NewUserID></xml>";
    let Event::UpdateUser(user) = Event::decode(minimal).unwrap().event else { panic!() };
    assert_eq!((user.userid.as_str(), user.name.as_deref()), ("lisi", None));
    assert_eq!(user.new_userid.as_deref(), Some("lisi2"));
    assert_eq!(user.department, Some(vec![2]));
    assert!(user.extra.is_empty());

    let unknown = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType><![CDATA[something_new]]></ChangeType><X>1</X></xml>";
    let Event::Unknown(kept) = Event::decode(unknown).unwrap().event else { panic!() };
    assert_eq!((kept.event.as_deref(), kept.change_type.as_deref()), (Some("change_contact"), Some("something_new")));
    assert_eq!(kept.xml, unknown);

    // A member this version does not model is kept in `extra`.
    let extended = "<xml><Event>change_contact</Event><ChangeType>delete_user</ChangeType><UserID>u</UserID><Since>2026</Since></xml>";
    let Event::DeleteUser(user) = Event::decode(extended).unwrap().event else { panic!() };
    assert_eq!(user.extra["Since"], "2026");

    // A list item that is not an id is an error naming its place.
    let bad_list = "<xml><Event>change_contact</Event><ChangeType>update_user</ChangeType><UserID>u</UserID><Department>1,x</Department></xml>";
    let error = Event::decode(bad_list).unwrap_err();
    assert_eq!(error.path(), "Department[1]", "{error}");

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

/// The official update_user example, whole (as go-workwx's test carries it, @3887053b
/// rx_msg_test.go:99): the new UserID and both kinds of extended attribute.
#[test]
fn an_update_carries_the_new_userid_and_typed_extended_attributes() {
    let xml = " <xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName> <CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_contact]]></Event><ChangeType>update_user</ChangeType><UserID><![CDATA[zhangsan]]></UserID><NewUserID><![CDATA[zhangsan001]]></NewUserID><Name><![CDATA[张三]]></Name><Department><![CDATA[1,2,3]]></Department><MainDepartment>1</MainDepartment><IsLeaderInDept><![CDATA[1,0,0]]></IsLeaderInDept><Position><![CDATA[产品经理]]></Position><Mobile>13800000000</Mobile><Gender>1</Gender><Email><![CDATA[zhangsan@gzdev.com]]></Email><Status>1</Status><Avatar><![CDATA[http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0]]></Avatar><Alias><![CDATA[zhangsan]]></Alias><Telephone><![CDATA[020-123456]]></Telephone><Address><![CDATA[广州市]]></Address><ExtAttr><Item><Name><![CDATA[爱好]]></Name><Type>0</Type><Text><Value><![CDATA[旅游]]></Value></Text></Item><Item><Name><![CDATA[卡号]]></Name><Type>1</Type><Web><Title><![CDATA[企业微信]]></Title><Url><![CDATA[https://work.weixin.qq.com]]></Url></Web></Item></ExtAttr></xml>";
    let Event::UpdateUser(user) = Event::decode(xml).unwrap().event else { panic!() };
    assert_eq!((user.userid.as_str(), user.new_userid.as_deref()), ("zhangsan", Some("zhangsan001")));
    assert_eq!(user.status, Some(1));
    let items = user.ext_attr.unwrap().items.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!((items[0].name.as_str(), items[0].attr_type), ("爱好", Some(0)));
    assert_eq!(items[0].text.as_ref().and_then(|t| t.value.as_deref()), Some("旅游"));
    let web = items[1].web.as_ref().unwrap();
    assert_eq!((web.title.as_deref(), web.url.as_deref()), (Some("企业微信"), Some("https://work.weixin.qq.com")));
    assert!(user.extra.is_empty(), "every member is modelled: {:?}", user.extra);
}
