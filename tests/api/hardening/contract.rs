//! The OpenAPI document is complete and true, so that a generated client works (schemathesis
//! tries it against a running server in `.ci/run`; these are the cheap checks that keep the
//! document whole).

use reqwest::StatusCode;
use serde_json::Value;

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

crate::on_both_engines! {
    async fn the_openapi_document_defines_what_it_references_and_places_each_parameter_truly(app) {
        let doc: Value = app.anonymous().get_json("/api/openapi.json", StatusCode::OK).await;
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        for r in &all {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r}"));
            assert!(schemas.contains_key(name), "{r} is referenced but not defined");
        }
        // The three count shapes are three schemas: ratings, a period's rates, accountability.
        for name in ["RatingCounts", "PeriodCounts", "AccountabilityCounts"] {
            assert!(schemas.contains_key(name), "{name}");
        }
        assert!(!schemas.contains_key("Counts"), "one name for three shapes");
        assert_eq!(doc["paths"]["/api/v1/accountability/counts"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/AccountabilityCounts");
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let name = p["name"].as_str().unwrap();
                    let placed = p["in"].as_str().unwrap();
                    let in_template = path.contains(&format!("{{{name}}}"));
                    assert_eq!(placed == "path", in_template, "{method} {path}: {name} is documented in {placed}");
                    let ty = &p["schema"]["type"];
                    assert!(!ty.as_array().is_some_and(|t| t.contains(&Value::from("null"))), "{method} {path}: {name} may not be null in a URL");
                }
                let answers = op["responses"].as_object().unwrap();
                if op.get("security").is_some() {
                    assert!(answers.contains_key("401") && answers.contains_key("403"), "{method} {path} needs a login but documents no 401/403");
                }
                if op.get("requestBody").is_some() {
                    for status in ["400", "413", "415", "422"] {
                        assert!(answers.contains_key(status), "{method} {path} takes a body but does not document {status}");
                    }
                }
            }
        }
    }

    async fn a_filter_naming_no_node_is_a_field_error_on_every_list(app) {
        // Schemathesis found `/appeals?under=W` answering an undocumented 404: a filter is a
        // field, so a node that does not exist is a 422 that names it, on every list alike.
        let sup = app.login("supervisor").await;
        for path in ["/api/v1/appeals", "/api/v1/ratings", "/api/v1/cases", "/api/v1/rankings", "/api/v1/dashboard", "/api/v1/accountability/counts"] {
            let body = sup.get_json(&format!("{path}?under=XN-NOPE-404"), StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(body["error"]["fields"][0]["field"], "under", "{path}: {body}");
        }
    }

    async fn the_ledgers_words_are_schemas_of_their_own_beside_the_case_loops(app) {
        // Schemathesis found the ledger's states and sources validated against the case loop's
        // (`State`, `Source`) and a team member against the dashboard's `Member`: one name, two
        // shapes. Each has its own name now.
        let doc = app.anonymous().get_json("/api/openapi.json", StatusCode::OK).await;
        let schemas = &doc["components"]["schemas"];
        let words = |name: &str| schemas[name]["enum"].as_array().unwrap_or_else(|| panic!("{name}")).iter().map(|v| v.as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert!(words("State").contains(&"acknowledged".to_owned()) && words("ItemState").contains(&"in_progress".to_owned()));
        assert!(words("Source").contains(&"rating".to_owned()) && words("ItemSource").contains(&"inspection_finding".to_owned()));
        assert!(words("VisitMode").contains(&"secret".to_owned()));
        assert!(schemas["Member"]["properties"]["counts"].is_object() && schemas["TeamMember"]["properties"]["position"].is_object());
        assert!(!schemas["ImportReport"].to_string().contains("unchanged\":{\"description\":\"Rows that changed nothing"), "the org import's report is its own");
        assert!(schemas["ItemImportReport"]["properties"]["unchanged"].is_object());
        // The same held for two older pairs: an appeal's decision and a register row, the
        // dashboard's funnel stage and an SLA clock's stage.
        assert!(schemas["AppealDecision"]["properties"]["upheld"].is_object());
        assert!(schemas["FunnelStage"]["properties"]["key"].is_object());
        // And the desk's: a channel message is not an inbox message, nor a request's state a
        // case's.
        assert!(schemas["Message"]["properties"]["kind"].is_object() && schemas["ChannelMessage"]["properties"]["seq"].is_object());
        assert!(words("RequestState").contains(&"ruling".to_owned()));
        assert!(schemas["ProjectStreamEvent"]["properties"]["event"].is_object());
        for (name, schema) in schemas.as_object().unwrap() {
            if name == "Decision" {
                assert!(schema["properties"].get("upheld").is_none(), "Decision is the register's row: {schema}");
            }
            if name == "Stage" {
                assert!(schema.get("enum").is_some(), "Stage is the SLA engine's: {schema}");
            }
        }
    }
}
