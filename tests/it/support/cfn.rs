//! cfn: reading the CloudFormation templates in `cfn/` for tests — YAML that keeps
//! CloudFormation's short tags (`!Sub`, `!Ref`, `!GetAtt`), parameter defaults, and the
//! statements of a role's inline policies with their actions, resources and conditions, written
//! out as `!Sub`-style strings (`!Ref X` is `${X}`, `!GetAtt X.Arn` is `${X.Arn}`) so that a
//! test can substitute values and match them like IAM does. A stack's parameters decide its
//! `Conditions`: the role statements and the task's environment are read as a stack with given
//! [`parameters`] has them (`!If` chosen, `!Ref AWS::NoValue` dropped).

use std::collections::BTreeMap;
use std::path::Path;

use saphyr::{LoadableYamlNode, MappingOwned, YamlOwned as Yaml};

/// A YAML node without its CloudFormation tag (`!Sub`, `!Ref`, ...).
pub fn untagged(node: &Yaml) -> &Yaml {
    match node {
        Yaml::Tagged(_, inner) => untagged(inner),
        other => other,
    }
}

pub fn get<'a>(node: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    untagged(node).as_mapping_get(key)
}

pub fn load_template(name: &str) -> Yaml {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("cfn").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read cfn/{name}: {e}"));
    let mut docs = Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("cfn/{name}: {e}"));
    assert_eq!(docs.len(), 1, "cfn/{name} holds one YAML document");
    docs.remove(0)
}

pub fn parameter_default(template: &str, parameter: &str) -> String {
    let doc = load_template(template);
    let node = get(&doc, "Parameters")
        .and_then(|p| get(p, parameter))
        .and_then(|p| get(p, "Default"))
        .unwrap_or_else(|| panic!("cfn/{template}: parameter {parameter} has no Default"));
    node.as_str()
        .unwrap_or_else(|| panic!("{parameter}: a string"))
        .to_owned()
}

/// Every parameter of `template` that has a default, as `${Name}` → default.
pub fn parameter_defaults(template: &str) -> BTreeMap<String, String> {
    let doc = load_template(template);
    let mut out = BTreeMap::new();
    if let Some(parameters) = get(&doc, "Parameters").and_then(|p| untagged(p).as_mapping()) {
        for (name, parameter) in parameters {
            let default = get(parameter, "Default").and_then(|d| {
                let d = untagged(d);
                d.as_str()
                    .map(str::to_owned)
                    .or_else(|| d.as_integer().map(|i| i.to_string()))
            });
            if let (Some(name), Some(default)) = (name.as_str(), default) {
                out.insert(format!("${{{name}}}"), default);
            }
        }
    }
    out
}

/// The parameters a stack of `template` is given, by plain name (`Credential` → `secret`), as
/// [`evaluate`] and [`condition_holds`] take them: each default, then `overrides`. Panics on an
/// override of a parameter the template lacks, or with a value its `AllowedValues` refuse.
pub fn parameters(template: &str, overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = parameter_defaults(template)
        .into_iter()
        .map(|(name, value)| (name[2..name.len() - 1].to_owned(), value))
        .collect();
    let doc = load_template(template);
    for (name, value) in overrides {
        let parameter = get(&doc, "Parameters")
            .and_then(|p| get(p, name))
            .unwrap_or_else(|| panic!("cfn/{template} has no parameter {name}"));
        if let Some(allowed) = get(parameter, "AllowedValues").and_then(|a| a.as_sequence()) {
            let allows = |a: &Yaml| {
                a.as_str()
                    .map(str::to_owned)
                    .or(a.as_integer().map(|i| i.to_string()))
                    == Some((*value).to_owned())
            };
            assert!(
                allowed.iter().any(allows),
                "cfn/{template}: {name} does not allow {value:?}"
            );
        }
        out.insert((*name).to_owned(), (*value).to_owned());
    }
    out
}

/// The `AllowedValues` of `parameter` in `template`.
pub fn allowed_values(template: &str, parameter: &str) -> Vec<String> {
    let doc = load_template(template);
    get(&doc, "Parameters")
        .and_then(|p| get(p, parameter))
        .and_then(|p| get(p, "AllowedValues"))
        .and_then(|a| untagged(a).as_sequence())
        .unwrap_or_else(|| panic!("cfn/{template}: {parameter} has no AllowedValues"))
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .or(v.as_integer().map(|i| i.to_string()))
                .expect("an allowed value")
        })
        .collect()
}

/// Whether the condition `name` of `doc`'s `Conditions` holds for `values` (plain names, as
/// [`parameters`] gives them): `!Equals`, `!Not`, `!And`, `!Or` and `!Condition`.
pub fn condition_holds(doc: &Yaml, name: &str, values: &BTreeMap<String, String>) -> bool {
    let condition = get(doc, "Conditions")
        .and_then(|c| get(c, name))
        .unwrap_or_else(|| panic!("the template has no condition {name}"));
    holds(doc, condition, values)
}

fn holds(doc: &Yaml, node: &Yaml, values: &BTreeMap<String, String>) -> bool {
    let Yaml::Tagged(tag, inner) = node else {
        panic!("a condition that is not a condition function: {node:?}")
    };
    let function = tag.suffix.as_str();
    let all = || {
        untagged(inner)
            .as_sequence()
            .unwrap_or_else(|| panic!("!{function} takes a list: {inner:?}"))
    };
    match function {
        "Equals" => {
            let arguments = arguments(function, inner, 2);
            evaluate(&arguments[0], values) == evaluate(&arguments[1], values)
        }
        "Not" => !holds(doc, &arguments(function, inner, 1)[0], values),
        "And" => all().iter().all(|c| holds(doc, c, values)),
        "Or" => all().iter().any(|c| holds(doc, c, values)),
        "Condition" => condition_holds(
            doc,
            untagged(inner).as_str().expect("!Condition of a name"),
            values,
        ),
        other => panic!("condition_holds does not know !{other}"),
    }
}

/// Whether the resource or output `node` of `doc` exists in a stack with `values`: it names no
/// `Condition`, or one that holds.
pub fn is_created(doc: &Yaml, node: &Yaml, values: &BTreeMap<String, String>) -> bool {
    match get(node, "Condition") {
        None => true,
        Some(name) => condition_holds(
            doc,
            name.as_str().expect("a Condition names a condition"),
            values,
        ),
    }
}

/// `node` as a stack with `values` has it: each `!If [condition, then, else]` replaced by the
/// branch that `doc`'s condition chooses; a `!Ref AWS::NoValue` so chosen drops the list item or
/// mapping entry it is, and is `None` on its own.
pub fn resolve_ifs(doc: &Yaml, node: &Yaml, values: &BTreeMap<String, String>) -> Option<Yaml> {
    match node {
        Yaml::Tagged(tag, inner) if tag.suffix == "If" => {
            let arguments = arguments("If", inner, 3);
            let condition = untagged(&arguments[0])
                .as_str()
                .expect("!If starts with a condition's name");
            let branch = if condition_holds(doc, condition, values) {
                &arguments[1]
            } else {
                &arguments[2]
            };
            resolve_ifs(doc, branch, values)
        }
        Yaml::Tagged(tag, inner)
            if tag.suffix == "Ref" && untagged(inner).as_str() == Some("AWS::NoValue") =>
        {
            None
        }
        Yaml::Tagged(tag, inner) => Some(Yaml::Tagged(
            tag.clone(),
            Box::new(
                resolve_ifs(doc, inner, values)
                    .unwrap_or_else(|| panic!("!{} of no value", tag.suffix)),
            ),
        )),
        Yaml::Sequence(items) => Some(Yaml::Sequence(
            items
                .iter()
                .filter_map(|item| resolve_ifs(doc, item, values))
                .collect(),
        )),
        Yaml::Mapping(entries) => Some(Yaml::Mapping(
            entries
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), resolve_ifs(doc, value, values)?)))
                .collect::<MappingOwned>(),
        )),
        other => Some(other.clone()),
    }
}

/// A scalar or a tagged scalar as a `!Sub`-style string: `!Ref X` is `${X}`, `!GetAtt X.Arn` is
/// `${X.Arn}`, `!Sub "…"` and a plain string are themselves. In `!Sub [template, variables]`
/// each variable that is such a string is put in; one that is a function (`!Select`, …) stays
/// `${Variable}` (see [`evaluate`] for its value).
pub fn sub_string(node: &Yaml) -> String {
    match node {
        Yaml::Tagged(tag, inner)
            if tag.suffix == "Sub" && untagged(inner).as_sequence().is_some() =>
        {
            let arguments = untagged(inner).as_sequence().unwrap();
            let template = arguments
                .first()
                .and_then(|t| untagged(t).as_str())
                .expect("!Sub [template, variables] starts with its template");
            let mut out = template.to_owned();
            if let Some(variables) = arguments.get(1).and_then(|v| untagged(v).as_mapping()) {
                for (name, value) in variables {
                    let name = name.as_str().expect("a !Sub variable's name");
                    if let Some(value) = as_sub_string(value) {
                        out = out.replace(&format!("${{{name}}}"), &value);
                    }
                }
            }
            out
        }
        Yaml::Tagged(tag, inner) => {
            let inner = untagged(inner)
                .as_str()
                .unwrap_or_else(|| panic!("!{} of something that is not a string", tag.suffix));
            match tag.suffix.as_str() {
                "Ref" => format!("${{{inner}}}"),
                "GetAtt" => format!("${{{inner}}}"),
                "Sub" => inner.to_owned(),
                other => panic!("a !{other} where a string was expected"),
            }
        }
        other => other
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{other:?} is not a string")),
    }
}

/// [`sub_string`] of `node` when it is a plain string, `!Ref`, `!GetAtt` or `!Sub`; else `None`.
fn as_sub_string(node: &Yaml) -> Option<String> {
    match node {
        Yaml::Tagged(tag, inner) => match (tag.suffix.as_str(), untagged(inner).as_str()) {
            ("Ref" | "GetAtt", Some(name)) => Some(format!("${{{name}}}")),
            ("Sub", Some(template)) => Some(template.to_owned()),
            _ => None,
        },
        other => other.as_str().map(str::to_owned),
    }
}

/// What [`evaluate`] computes: a string or a list of strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evaluated {
    String(String),
    List(Vec<String>),
}

impl Evaluated {
    pub fn into_string(self) -> String {
        match self {
            Evaluated::String(s) => s,
            Evaluated::List(list) => panic!("the list {list:?} where a string was expected"),
        }
    }

    pub fn into_list(self) -> Vec<String> {
        match self {
            Evaluated::List(list) => list,
            Evaluated::String(s) => panic!("the string {s:?} where a list was expected"),
        }
    }
}

/// The arguments of the function `!{function}`, which takes a list of `count`.
fn arguments<'a>(function: &str, node: &'a Yaml, count: usize) -> &'a [Yaml] {
    untagged(node)
        .as_sequence()
        .filter(|list| list.len() == count)
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("!{function} takes a list of {count}: {node:?}"))
}

/// `template` with each `${name}` replaced by `value(name)`; `${!text}` is the literal `${text}`.
fn fill(template: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .unwrap_or_else(|| panic!("an unclosed variable in {template:?}"));
        let name = &after[..end];
        match name.strip_prefix('!') {
            Some(literal) => {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            }
            None => out.push_str(&value(name)),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `node` as CloudFormation computes it, given `values` for the parameters and pseudo parameters
/// it names, by plain name (`SamlProviderNames` → `EntraID,EntraID-b`, `AWS::Partition` → `aws`):
/// plain strings, numbers and lists, `!Ref`, `!Sub` (both forms), `!Select`, `!Split` and `!Join`.
/// Panics on another function, and on a name `values` lacks.
pub fn evaluate(node: &Yaml, values: &BTreeMap<String, String>) -> Evaluated {
    let Yaml::Tagged(tag, inner) = node else {
        if let Some(list) = node.as_sequence() {
            return Evaluated::List(
                list.iter()
                    .map(|item| evaluate(item, values).into_string())
                    .collect(),
            );
        }
        let text = node
            .as_str()
            .map(str::to_owned)
            .or_else(|| node.as_integer().map(|i| i.to_string()));
        return Evaluated::String(
            text.unwrap_or_else(|| panic!("{node:?} is neither a string nor a list")),
        );
    };
    let lookup = |name: &str| {
        values
            .get(name)
            .unwrap_or_else(|| panic!("the template names {name}, which the test gives no value"))
            .clone()
    };
    let function = tag.suffix.as_str();
    match function {
        "Ref" => Evaluated::String(lookup(untagged(inner).as_str().expect("!Ref of a name"))),
        "Sub" => match untagged(inner).as_str() {
            Some(template) => Evaluated::String(fill(template, lookup)),
            None => {
                let arguments = arguments(function, inner, 2);
                let template = untagged(&arguments[0])
                    .as_str()
                    .expect("!Sub [template, variables] starts with its template");
                let mut variables = BTreeMap::new();
                for (name, value) in untagged(&arguments[1])
                    .as_mapping()
                    .expect("!Sub's variables are a mapping")
                {
                    let name = name.as_str().expect("a !Sub variable's name").to_owned();
                    variables.insert(name, evaluate(value, values).into_string());
                }
                Evaluated::String(fill(template, |name| match variables.get(name) {
                    Some(value) => value.clone(),
                    None => lookup(name),
                }))
            }
        },
        "Select" => {
            let arguments = arguments(function, inner, 2);
            let index: usize = evaluate(&arguments[0], values)
                .into_string()
                .parse()
                .expect("!Select's index is a number");
            let list = evaluate(&arguments[1], values).into_list();
            Evaluated::String(list.get(index).cloned().unwrap_or_else(|| {
                panic!("!Select {index} of {list:?}: CloudFormation fails the stack")
            }))
        }
        "Split" => {
            let arguments = arguments(function, inner, 2);
            let delimiter = untagged(&arguments[0])
                .as_str()
                .expect("!Split's delimiter is a string (CloudFormation takes no function there)");
            let text = evaluate(&arguments[1], values).into_string();
            Evaluated::List(text.split(delimiter).map(str::to_owned).collect())
        }
        "Join" => {
            let arguments = arguments(function, inner, 2);
            let delimiter = untagged(&arguments[0])
                .as_str()
                .expect("!Join's delimiter is a string (CloudFormation takes no function there)");
            Evaluated::String(evaluate(&arguments[1], values).into_list().join(delimiter))
        }
        other => panic!("evaluate does not know !{other}"),
    }
}

/// A scalar or a list of them, as `!Sub`-style strings.
pub fn strings(node: &Yaml) -> Vec<String> {
    match untagged(node).as_sequence() {
        Some(list) if !matches!(node, Yaml::Tagged(..)) => list.iter().map(sub_string).collect(),
        _ => vec![sub_string(node)],
    }
}

/// The `Environment` entries (`Name`, `Value`) of the task definition's container in
/// cfn/environment.yaml, for a stack with `values` ([`parameters`]): the entries its conditions
/// leave.
pub fn task_definition_environment_in(values: &BTreeMap<String, String>) -> Vec<Yaml> {
    let doc = load_template("environment.yaml");
    let container = get(&doc, "Resources")
        .and_then(|r| get(r, "TaskDefinition"))
        .and_then(|t| get(t, "Properties"))
        .and_then(|p| get(p, "ContainerDefinitions"))
        .and_then(|c| untagged(c).as_sequence())
        .and_then(|c| c.first())
        .expect("a container definition");
    let environment = get(container, "Environment").expect("an Environment list");
    resolve_ifs(&doc, environment, values)
        .as_ref()
        .and_then(|e| untagged(e).as_sequence())
        .expect("an Environment list")
        .clone()
}

/// One statement of an inline policy.
#[derive(Clone, Debug)]
pub struct Statement {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// `operator key` → values, such as `StringEquals aws:ResourceOrgID` → [`${aws:PrincipalOrgID}`].
    pub conditions: BTreeMap<String, Vec<String>>,
}

/// The statements of the inline policies of the role `logical_id` in `template`, with the
/// parameter defaults.
pub fn role_statements(template: &str, logical_id: &str) -> Vec<Statement> {
    role_statements_in(template, logical_id, &parameters(template, &[]))
}

/// [`role_statements`] in a stack with `values` ([`parameters`]): the statements its conditions
/// leave, with the values they choose.
pub fn role_statements_in(
    template: &str,
    logical_id: &str,
    values: &BTreeMap<String, String>,
) -> Vec<Statement> {
    let doc = load_template(template);
    let resources = get(&doc, "Resources").expect("a Resources section");
    let role = get(resources, logical_id)
        .unwrap_or_else(|| panic!("cfn/{template} has no resource {logical_id}"));
    let properties = get(role, "Properties").expect("the role has Properties");
    let mut out = Vec::new();
    let policies = get(properties, "Policies").and_then(|p| untagged(p).as_sequence());
    for policy in policies.expect("the role has inline Policies") {
        let document = get(policy, "PolicyDocument").expect("a PolicyDocument");
        let document = resolve_ifs(&doc, document, values).expect("a PolicyDocument");
        let document = &document;
        let statements = get(document, "Statement").expect("a Statement");
        for statement in untagged(statements)
            .as_sequence()
            .expect("Statement is a list")
        {
            assert!(
                get(statement, "NotAction").is_none() && get(statement, "NotResource").is_none(),
                "cfn/{template}: {logical_id} uses NotAction or NotResource; name what it grants"
            );
            let mut conditions = BTreeMap::new();
            if let Some(condition) =
                get(statement, "Condition").and_then(|c| untagged(c).as_mapping())
            {
                for (operator, keys) in condition {
                    let keys = untagged(keys)
                        .as_mapping()
                        .unwrap_or_else(|| panic!("cfn/{template}: {logical_id}: a condition that is not a mapping (an !If?); spell it out"));
                    for (key, values) in keys {
                        conditions.insert(
                            format!("{} {}", operator.as_str().unwrap(), key.as_str().unwrap()),
                            strings(values),
                        );
                    }
                }
            }
            out.push(Statement {
                sid: get(statement, "Sid")
                    .and_then(Yaml::as_str)
                    .unwrap_or("")
                    .to_owned(),
                allow: get(statement, "Effect").and_then(Yaml::as_str) == Some("Allow"),
                actions: strings(get(statement, "Action").expect("an Action")),
                resources: strings(get(statement, "Resource").expect("a Resource")),
                conditions,
            });
        }
    }
    out
}

/// `text` with every `${name}` of `values` replaced; panics on one left over.
pub fn substitute(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (name, value) in values {
        out = out.replace(name, value);
    }
    assert!(
        !out.contains("${"),
        "{text:?} names something the test gives no value: {out}"
    );
    out
}

/// Whether `pattern` (IAM's `*` and `?`) matches all of `value`.
pub fn iam_match(pattern: &str, value: &str) -> bool {
    let regex = format!(
        "^{}$",
        regex::escape(pattern)
            .replace(r"\*", ".*")
            .replace(r"\?", ".")
    );
    regex::Regex::new(&regex).unwrap().is_match(value)
}
