//! test_support: proptest strategies the unit tests of several modules share. Test builds only.

use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON nested a few levels, biased towards the object `keys` and string `words` the
/// parser under test looks for, so that generated documents get past its first checks.
pub fn json_biased(
    keys: &[&'static str],
    words: &[&'static str],
) -> impl Strategy<Value = Value> + Clone {
    let key = prop_oneof![3 => proptest::sample::select(keys.to_vec()).prop_map(str::to_owned), 1 => "[A-Za-z]{0,8}"];
    let word = prop_oneof![3 => proptest::sample::select(words.to_vec()).prop_map(str::to_owned), 1 => ".{0,12}"];
    let leaf = prop_oneof![
        4 => word.prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}
