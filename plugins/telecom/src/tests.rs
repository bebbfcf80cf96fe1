use socle_sdk::testing;

use super::*;
use crate::billing::{Row, findings, normalize_number, parse_csv};

struct Fixture {
    account: String,
    parc: String,
    plan: String,
    big_plan: String,
    option: String,
}

fn fixture() -> Fixture {
    testing::reset();
    let account = testing::insert("customer_account", json!({ "name": "Transports Le Goff" }));
    let site = testing::insert("site", json!({ "account": account, "name": "Siège Quimper" }));
    let parc = testing::insert(PARC, json!({ "account": account, "site": site, "line_type": "mobile", "operator": "orange" }));
    let plan = testing::insert(
        CATALOGUE,
        json!({ "code": "MOB-20", "label": "Mobile Pro 20 Go", "kind": "forfait", "telecom_line_type": "mobile", "sale_price": money(1990), "purchase_price": money(1250) }),
    );
    let big_plan = testing::insert(
        CATALOGUE,
        json!({ "code": "MOB-100", "label": "Mobile Pro 100 Go", "kind": "forfait", "telecom_line_type": "mobile", "sale_price": money(2990), "purchase_price": money(1800) }),
    );
    let option = testing::insert(
        CATALOGUE,
        json!({ "code": "OPT-EU", "label": "Option Europe", "kind": "option", "sale_price": money(500), "purchase_price": money(200) }),
    );
    Fixture { account, parc, plan, big_plan, option }
}

fn line(f: &Fixture, number: &str, options: &[&str]) -> String {
    let mut catalogue = Catalogue::default();
    let options: Vec<String> = options.iter().map(|o| (*o).to_owned()).collect();
    let mut data = catalogue.prices(Some(&f.plan), &options, Some("mobile")).unwrap();
    data["number"] = json!(number);
    data["parc"] = json!(f.parc);
    data["account"] = json!(f.account);
    data["plan"] = json!(f.plan);
    data["options"] = json!(options);
    testing::insert(LINE, data)
}

fn write(hook: &str, collection: &str, data: Value) -> Write {
    Write {
        hook: hook.into(),
        op: "create".into(),
        collection: collection.into(),
        id: "x".into(),
        before: None,
        data,
        transition: None,
        actor: "user:1".into(),
    }
}

#[test]
fn a_line_takes_its_account_and_prices_from_its_parc_and_the_catalogue() {
    let f = fixture();
    let FilterOutcome::Change(data) =
        Telecom::filter(&write("line_rules", LINE, json!({ "number": "06 12 34 56 78", "parc": f.parc, "plan": f.plan, "options": [f.option] })))
    else {
        panic!("expected a change")
    };
    assert_eq!(data["account"], json!(f.account));
    assert_eq!(data["number"], "+33612345678");
    assert_eq!(cents(&data["sale_price"]), 2490);
    assert_eq!(cents(&data["purchase_price"]), 1450);
    assert!(data.get("margin").is_none(), "the margin is derived by the platform, not set by the plugin");
    // A client (arriving with an account) cannot create lines; an option is not a plan.
    let veto = Telecom::filter(&write("line_rules", LINE, json!({ "number": "0600000000", "parc": f.parc, "account": f.account })));
    assert!(matches!(veto, FilterOutcome::Veto(r) if r.contains("créées par votre opérateur")));
    let veto = Telecom::filter(&write("line_rules", LINE, json!({ "number": "0600000000", "parc": f.parc, "plan": f.option })));
    assert!(matches!(veto, FilterOutcome::Veto(r) if r.contains("n'est pas un forfait")));
}

#[test]
fn a_plan_for_another_line_type_is_refused() {
    let f = fixture();
    let fibre = testing::insert(
        CATALOGUE,
        json!({ "code": "FIB-1G", "label": "Fibre 1 Gb/s", "kind": "forfait", "telecom_line_type": "internet", "sale_price": money(6900) }),
    );
    let veto = Telecom::filter(&write("line_rules", LINE, json!({ "number": "0600000001", "parc": f.parc, "plan": fibre })));
    assert!(matches!(veto, FilterOutcome::Veto(ref r) if r.contains("prévu pour les lignes Internet, pas Mobile")), "{veto:?}");
}

#[test]
fn the_parc_is_named_by_type_and_operator_and_its_site_belongs_to_the_account() {
    let f = fixture();
    let other = testing::insert("customer_account", json!({ "name": "Autre" }));
    let foreign_site = testing::insert("site", json!({ "account": other, "name": "Ailleurs" }));
    let FilterOutcome::Change(data) =
        Telecom::filter(&write("parc_rules", PARC, json!({ "account": f.account, "line_type": "internet", "operator": "alphalink" })))
    else {
        panic!()
    };
    assert_eq!((data["name"].as_str(), data["connector"].as_str()), (Some("Internet / Alphalink"), Some("alphalink")));
    let veto = Telecom::filter(&write("parc_rules", PARC, json!({ "account": f.account, "site": foreign_site, "line_type": "fixe", "operator": "threecx" })));
    assert!(matches!(veto, FilterOutcome::Veto(r) if r.contains("n'appartient pas à ce compte client")));
}

#[test]
fn changing_the_plan_of_many_lines_recomputes_each_price_with_its_options() {
    let f = fixture();
    let plain: Vec<String> = (0..60).map(|i| line(&f, &format!("+336100000{i:02}"), &[])).collect();
    let with_option: Vec<String> = (0..40).map(|i| line(&f, &format!("+336200000{i:02}"), &[f.option.as_str()])).collect();
    let ids: Vec<String> = plain.iter().chain(&with_option).cloned().collect();
    let result = change_plan(&ids, &json!({ "plan": f.big_plan })).unwrap();
    assert_eq!(result["changed"], 100, "{result}");
    let a = records::get(&plain[0]).unwrap();
    let b = records::get(&with_option[0]).unwrap();
    assert_eq!((cents(&a.data["sale_price"]), cents(&a.data["purchase_price"])), (2990, 1800));
    assert_eq!((cents(&b.data["sale_price"]), cents(&b.data["purchase_price"])), (3490, 2000));
    assert!(change_plan(&ids, &json!({ "plan": f.option })).unwrap_err().contains("n'est pas un forfait"));
    assert!(change_plan(&[], &json!({ "plan": f.plan })).unwrap_err().contains("au moins une ligne"));
}

#[test]
fn options_are_added_once_and_suspension_needs_a_reason() {
    let f = fixture();
    let ids = vec![line(&f, "+33611111111", &[]), line(&f, "+33622222222", &[f.option.as_str()])];
    let result = add_options(&ids, &json!({ "options": [f.option] })).unwrap();
    assert_eq!(result["changed"], 1);
    assert_eq!(result["skipped"].as_array().unwrap().len(), 1);
    assert!(suspend(&ids, &json!({})).unwrap_err().contains("motif"));
}

#[test]
fn a_deployment_covers_one_account_with_operations_on_both_sides() {
    let f = fixture();
    let ids = vec![line(&f, "+33611111111", &[]), line(&f, "+33622222222", &[])];
    let result = create_deployment(&ids, &json!({ "title": "Passage au 100 Go", "kind": "modification" })).unwrap();
    assert_eq!(result["operations"], 3);
    let deployment = result["deployment"].as_str().unwrap();
    let ops = records::query(OPERATION, &Query::new().eq("deployment", deployment)).unwrap();
    assert_eq!(ops.items.iter().filter(|o| o.get::<String>("side").as_deref() == Some("fournisseur")).count(), 2);
    assert_eq!(records::get(&ids[0]).unwrap().get::<Vec<String>>("deployments").unwrap(), vec![deployment.to_owned()]);
    // Lines of two accounts cannot share a deployment.
    let other = testing::insert("customer_account", json!({ "name": "Autre" }));
    let foreign = testing::insert(LINE, json!({ "number": "+33633333333", "parc": f.parc, "account": other }));
    let err = create_deployment(&[ids[0].clone(), foreign], &json!({ "title": "x", "kind": "modification" })).unwrap_err();
    assert!(err.contains("2 comptes clients"), "{err}");
}

#[test]
fn csv_imports_parse_french_amounts_and_report_the_bad_line() {
    let rows = parse_csv("numero;libelle;montant_ht\n06 12 34 56 78;Forfait;12,50\n\n0699999999;Option;2\n").unwrap();
    assert_eq!(
        rows,
        vec![
            Row { number: "+33612345678".into(), label: "Forfait".into(), cents: 1250 },
            Row { number: "+33699999999".into(), label: "Option".into(), cents: 200 },
        ]
    );
    assert_eq!(parse_csv("0612345678;Forfait;abc").unwrap_err(), "ligne 1 : « abc » n'est pas un montant (exemple : 12,50)");
    assert!(parse_csv("0612345678;Forfait").unwrap_err().starts_with("ligne 1 : trois colonnes"));
    assert!(parse_csv("\n").unwrap_err().contains("aucune ligne"));
    assert_eq!(normalize_number("ADSL-0298765432"), "ADSL0298765432");
}

#[test]
fn billing_control_finds_terminated_lines_still_billed_and_purchase_price_gaps() {
    let f = fixture();
    let ok = line(&f, "+33611111111", &[]);
    let gap = line(&f, "+33622222222", &[]);
    let ended = line(&f, "+33633333333", &[]);
    let late = line(&f, "+33644444444", &[]);
    records::update(&ended, &json!({ "terminated_on": "2026-08-31" }), None).unwrap();
    records::transition(&ended, "resiliee").unwrap();
    records::update(&late, &json!({ "terminated_on": "2026-10-15" }), None).unwrap();
    records::transition(&late, "resiliee").unwrap();
    let content = "numero;libelle;montant_ht\n0611111111;Mobile Pro 20 Go;12,50\n0622222222;Mobile Pro 20 Go;12,50\n0622222222;Hors forfait;2,40\n0633333333;Mobile Pro 20 Go;12,50\n0644444444;Mobile Pro 20 Go;6,25\n0655555555;Inconnue;1\n";
    let import = testing::insert(IMPORT, json!({ "label": "Orange octobre", "kind": "facture_fournisseur", "period": "2026-10", "content": content }));
    let result = billing::run(std::slice::from_ref(&import), 1).unwrap();
    assert_eq!(result["created"], json!({ "resiliee_facturee": 1, "ecart_prix_achat": 1 }), "{result}");
    assert_eq!(result["unknown_numbers"], json!(["+33655555555"]));
    let anomalies = records::query(ANOMALY, &Query::new()).unwrap();
    let gap_found = anomalies.items.iter().find(|a| a.get::<String>("kind").as_deref() == Some("ecart_prix_achat")).unwrap();
    // The gap itself is derived by the platform (`billed - expected`), not by the plugin.
    assert_eq!((cents(&gap_found.data["expected"]), cents(&gap_found.data["billed"])), (1250, 1490));
    assert_eq!(gap_found.get::<String>("line").as_deref(), Some(gap.as_str()));
    let ended_found = anomalies.items.iter().find(|a| a.get::<String>("kind").as_deref() == Some("resiliee_facturee")).unwrap();
    assert_eq!(ended_found.get::<String>("line").as_deref(), Some(ended.as_str()));
    assert!(ended_found.get::<String>("summary").unwrap().contains("résiliée le 2026-08-31"));
    let _ = ok;
    // Running again creates nothing new.
    let again = billing::run(&[import], 1).unwrap();
    assert_eq!((again["created"]["ecart_prix_achat"].as_u64(), again["already_known"].as_u64()), (Some(0), Some(2)));
}

#[test]
fn an_import_reads_its_attached_file_before_any_pasted_content() {
    testing::reset();
    // A Windows-1252 export, as French accounting tools still write them ("é" is 0xE9).
    let id = testing::add_file("orange-octobre.csv", "text/csv", b"num\xe9ro;libell\xe9;montant_ht\n0611111111;Forfait \xe9t\xe9;12,50\n");
    let file = json!({ "id": id, "name": "orange-octobre.csv", "size": 48 });
    let rows = billing::import_rows(&json!({ "file": file, "content": "0622222222;Collé;1" })).unwrap();
    assert_eq!(rows, vec![Row { number: "+33611111111".into(), label: "Forfait été".into(), cents: 1250 }]);
    assert_eq!(billing::import_rows(&json!({ "content": "0622222222;Collé;1" })).unwrap()[0].cents, 100);
    assert!(billing::import_rows(&json!({ "content": "  " })).unwrap_err().contains("joignez le fichier CSV"));
    // A bad file names itself and the line; an unreadable one says so.
    let bad = testing::add_file("faux.csv", "text/csv", b"0611111111;Forfait;douze");
    let err = billing::import_rows(&json!({ "file": { "id": bad } })).unwrap_err();
    assert!(err.starts_with("fichier « faux.csv », ligne 1 :"), "{err}");
    testing::deny("files");
    assert!(billing::import_rows(&json!({ "file": { "id": id } })).unwrap_err().contains("n'a pas pu être lu"));
}

#[test]
fn renaming_an_import_does_not_read_its_file_again() {
    testing::reset();
    let id = testing::add_file("octobre.csv", "text/csv", b"0611111111;Forfait;12,50\n0622222222;Forfait;12,50\n");
    let data = json!({ "label": "Orange", "kind": "facture_fournisseur", "period": "2026-10", "file": { "id": id } });
    let created = import_rules(&write("import_rules", IMPORT, data)).unwrap().expect("rows are counted");
    assert_eq!(created["rows"], 2);
    // With the file unreadable, a rename still passes (the file is not read again); a new file is read.
    testing::deny("files");
    let mut renamed = created.clone();
    renamed["label"] = json!("Orange octobre");
    let update = |data: Value| Write { op: "update".into(), before: Some(created.clone()), ..write("import_rules", IMPORT, data) };
    assert_eq!(import_rules(&update(renamed)).unwrap(), None, "nothing to change");
    let mut replaced = created.clone();
    replaced["file"] = json!({ "id": "file-99" });
    assert!(import_rules(&update(replaced)).unwrap_err().contains("n'a pas pu être lu"));
}

#[test]
fn a_hidden_purchase_price_is_an_error_not_a_gap() {
    let f = fixture();
    let id = testing::insert(LINE, json!({ "number": "+33611111111", "parc": f.parc, "account": f.account }));
    let line = records::get(&id).unwrap();
    let import = records::get(&testing::insert(IMPORT, json!({ "kind": "facture_fournisseur", "period": "2026-10" }))).unwrap();
    let lines = BTreeMap::from([("+33611111111".to_owned(), line)]);
    let rows = vec![Row { number: "+33611111111".into(), label: "x".into(), cents: 100 }];
    assert!(findings(&import, &rows, &lines, 1).unwrap_err().contains("voir_marge"));
}

#[test]
fn operator_actions_go_through_the_parcs_connector_and_keep_the_reference() {
    let f = fixture();
    records::update(&f.parc, &json!({ "connector": "snaic" }), None).unwrap();
    let ids = vec![line(&f, "+33611111111", &[]), line(&f, "+33622222222", &[])];
    testing::connector_answer("snaic", "suspend-line", Ok(json!({ "reference": "SN-42", "status": "suspended" })));
    let result = operator::line_action(&ids, &json!({ "operation": "suspend_line" })).unwrap();
    assert_eq!(result["done"], 2, "{result}");
    assert_eq!(records::get(&ids[0]).unwrap().get::<String>("operator_ref").as_deref(), Some("SN-42"));
    let calls = testing::connector_calls();
    assert_eq!((calls[0].0.as_str(), calls[0].1.as_str()), ("snaic", "suspend-line"));
    assert_eq!(calls[0].2["number"], "+33611111111");
    assert_eq!(calls[0].2["plan"], "MOB-20");
    testing::connector_answer("snaic", "get-status", Err("ligne inconnue chez l'opérateur".into()));
    let refused = operator::line_action(&ids[..1], &json!({ "operation": "get_status" })).unwrap();
    assert_eq!(refused["failed"], json!(["+33611111111 : ligne inconnue chez l'opérateur"]));
    assert!(operator::line_action(&ids, &json!({ "operation": "format_c" })).unwrap_err().contains("n'est pas une action opérateur"));
}

#[test]
fn a_launched_deployment_runs_its_operations_through_the_connectors_then_is_provisioned() {
    let f = fixture();
    records::update(&f.parc, &json!({ "connector": "snaic" }), None).unwrap();
    testing::set_config("billing_connector", json!("cfast"));
    let ids = vec![line(&f, "+33611111111", &[]), line(&f, "+33622222222", &[])];
    let created = create_deployment(&ids, &json!({ "title": "Résiliation dépôt", "kind": "resiliation" })).unwrap();
    let deployment = created["deployment"].as_str().unwrap().to_owned();
    assert!(operator::execute(std::slice::from_ref(&deployment)).unwrap_err().contains("doit être lancé"));
    records::transition(&deployment, "en_cours").unwrap();
    testing::connector_answer("snaic", "terminate-line", Ok(json!({ "reference": "SN-1" })));
    testing::connector_answer("cfast", "change-subscription", Ok(json!({ "ok": true })));
    let result = operator::execute(std::slice::from_ref(&deployment)).unwrap();
    assert_eq!(result, json!({ "done": 3, "failed": [], "provisioned": true }));
    let calls: Vec<(String, String)> = testing::connector_calls().into_iter().map(|(c, o, _)| (c, o)).collect();
    assert_eq!(calls.iter().filter(|c| *c == &("snaic".to_owned(), "terminate-line".to_owned())).count(), 2);
    assert!(calls.contains(&("cfast".into(), "change-subscription".into())));
    // The terminated lines are terminated in the parc too.
    assert_eq!(records::get(&ids[0]).unwrap().state.as_deref(), Some("terminate"));
}

#[test]
fn a_communication_takes_its_account_from_its_line_and_refuses_another_accounts_line() {
    let f = fixture();
    let id = line(&f, "+33611111111", &[]);
    let filled =
        crate::communications::rules(&write("communication_rules", "telecom.communication", json!({ "subject": "Appel", "line": id }))).unwrap().unwrap();
    assert_eq!(filled["account"], json!(f.account));
    let other = testing::insert("customer_account", json!({ "name": "Autre" }));
    let err = crate::communications::rules(&write("communication_rules", "telecom.communication", json!({ "subject": "Appel", "line": id, "account": other })))
        .unwrap_err();
    assert!(err.contains("+33611111111 n'appartient pas"), "{err}");
    assert!(
        crate::communications::rules(&write("communication_rules", "telecom.communication", json!({ "subject": "Appel" })))
            .unwrap_err()
            .contains("compte client")
    );
    let stranger = testing::insert("contact", json!({ "account": other, "first_name": "Anne", "last_name": "Le Goff" }));
    let err =
        crate::communications::rules(&write("communication_rules", "telecom.communication", json!({ "subject": "Appel", "line": id, "contact": stranger })))
            .unwrap_err();
    assert_eq!(err, "le contact « Anne Le Goff » n'appartient pas à ce compte client");
}

#[test]
fn calls_are_fetched_through_the_telephony_connector_once() {
    let f = fixture();
    let ids = vec![line(&f, "+33611111111", &[]), line(&f, "+33622222222", &[])];
    let calls = json!({ "calls": [
        { "id": "c-1", "started_at": "2026-11-02T09:14:00Z", "direction": "inbound", "party": "+33298000000", "duration_seconds": 184, "summary": "Question sur la facture" },
        { "id": "c-2", "started_at": "2026-11-03T16:40:00Z", "direction": "sortant", "duration_seconds": 60 },
    ] });
    testing::connector_answer("3cx", "list-calls", Ok(calls));
    let result = crate::communications::fetch_calls(&ids, &json!({ "days": 7 })).unwrap();
    // The fake answers the same two calls for both lines: the second line's are already known.
    assert_eq!((result["created"].as_u64(), result["already_known"].as_u64(), result["done"].as_u64()), (Some(2), Some(2), Some(2)), "{result}");
    let (_, operation, input) = &testing::connector_calls()[0];
    assert_eq!((operation.as_str(), input["number"].as_str()), ("list-calls", Some("+33611111111")));
    let stored = records::query(crate::communications::COMMUNICATION, &Query::new().eq("source_ref", "3cx:c-2")).unwrap();
    assert_eq!(stored.items[0].get::<String>("subject").as_deref(), Some("Appel sortant +33611111111"));
    assert_eq!(stored.items[0].get::<String>("account").as_deref(), Some(f.account.as_str()));
    let again = crate::communications::fetch_calls(&ids[..1], &json!({})).unwrap();
    assert_eq!((again["created"].as_u64(), again["already_known"].as_u64()), (Some(0), Some(2)));
    // An unreadable answer is reported for the line, nothing half-imported from it.
    testing::connector_answer("3cx", "list-calls", Ok(json!({ "calls": [{ "id": "c-3" }] })));
    let bad = crate::communications::fetch_calls(&ids[..1], &json!({})).unwrap();
    assert_eq!(bad["created"], 0);
    assert!(bad["failed"][0].as_str().unwrap().contains("l'appel c-3 n'a pas de date"), "{bad}");
}
