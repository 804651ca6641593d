// Post-processors (see post_processor.h).
#include "dpok/text/post_processor.h"

#include "dpok/core/error.h"

namespace dpok::text {
namespace {

int32_t json_id(const nlohmann::json& value, const JsonPath& path) {
  const int64_t id = json_int(value, path);
  if (id < 0 || id > (int64_t{1} << 30)) {
    DPOK_THROW(FormatError, "tokenizer", "{}: token id {} out of range", path.where(), id);
  }
  return static_cast<int32_t>(id);
}

// The ids of a special token named in a template: special_tokens[name].ids.
std::vector<int32_t> special_ids(const nlohmann::json& spec, const std::string& name,
                                 const JsonPath& path) {
  const JsonPath tokens_path = path.child("special_tokens");
  const nlohmann::json& tokens = json_require(spec, "special_tokens", path);
  const nlohmann::json* token = json_find(tokens, name.c_str(), tokens_path);
  if (token == nullptr) {
    DPOK_THROW(FormatError, "tokenizer",
               "{}: template names special token \"{}\" that is not defined", tokens_path.where(),
               name);
  }
  const JsonPath ids_path = tokens_path.child(name).child("ids");
  const nlohmann::json& ids = json_require(*token, "ids", tokens_path.child(name));
  json_require_array(ids, ids_path);
  std::vector<int32_t> out;
  for (size_t i = 0; i < ids.size(); ++i) out.push_back(json_id(ids[i], ids_path.child(i)));
  return out;
}

SingleTemplate parse_template(const nlohmann::json& spec, const JsonPath& path) {
  const JsonPath single_path = path.child("single");
  const nlohmann::json& single = json_require(spec, "single", path);
  json_require_array(single, single_path);
  SingleTemplate result;
  bool seen_a = false;
  for (size_t i = 0; i < single.size(); ++i) {
    const JsonPath item_path = single_path.child(i);
    if (const nlohmann::json* special = json_find(single[i], "SpecialToken", item_path)) {
      const std::string name =
          json_string(json_require(*special, "id", item_path.child("SpecialToken")),
                      item_path.child("SpecialToken").child("id"));
      const std::vector<int32_t> ids = special_ids(spec, name, path);
      auto& target = seen_a ? result.suffix : result.prefix;
      target.insert(target.end(), ids.begin(), ids.end());
      continue;
    }
    const nlohmann::json& sequence = json_require(single[i], "Sequence", item_path);
    const std::string which = json_string(json_require(sequence, "id", item_path.child("Sequence")),
                                          item_path.child("Sequence").child("id"));
    if (which != "A" || seen_a) {
      DPOK_THROW(UnsupportedError, "tokenizer",
                 "{}: single-sequence template must contain $A exactly once (got ${} here)",
                 item_path.where(), which);
    }
    seen_a = true;
  }
  if (!seen_a) {
    DPOK_THROW(UnsupportedError, "tokenizer", "{}: single-sequence template has no $A",
               single_path.where());
  }
  return result;
}

// BertProcessing / RobertaProcessing: cls A sep, with [token, id] pairs.
SingleTemplate parse_cls_sep(const nlohmann::json& spec, const JsonPath& path) {
  const auto id_of = [&](const char* key) {
    const nlohmann::json& pair = json_require(spec, key, path);
    if (!pair.is_array() || pair.size() != 2) {
      DPOK_THROW(FormatError, "tokenizer", "{}: expected [token, id]", path.child(key).where());
    }
    return json_id(pair[1], path.child(key).child(1));
  };
  return SingleTemplate{{id_of("cls")}, {id_of("sep")}};
}

}  // namespace

SingleTemplate parse_post_processor(const nlohmann::json& spec, const JsonPath& path) {
  const std::string type = json_string(json_require(spec, "type", path), path.child("type"));
  if (type == "TemplateProcessing") return parse_template(spec, path);
  if (type == "ByteLevel") return {};
  if (type == "BertProcessing" || type == "RobertaProcessing") return parse_cls_sep(spec, path);
  if (type == "Sequence") {
    const nlohmann::json& list = json_require(spec, "processors", path);
    json_require_array(list, path.child("processors"));
    SingleTemplate result;
    for (size_t i = 0; i < list.size(); ++i) {
      // Each processor wraps the output of the previous one.
      const SingleTemplate inner = parse_post_processor(list[i], path.child("processors").child(i));
      result.prefix.insert(result.prefix.begin(), inner.prefix.begin(), inner.prefix.end());
      result.suffix.insert(result.suffix.end(), inner.suffix.begin(), inner.suffix.end());
    }
    return result;
  }
  DPOK_THROW(UnsupportedError, "tokenizer", "{}: post-processor type \"{}\" is not supported",
             path.where(), type);
}

}  // namespace dpok::text
