// Loading artifacts into Predictors, the learner table, and the routing text of a request.
#include "router/ml/predictor.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>

#include <boost/json.hpp>

#include "router/ml/learner.h"

namespace sy::router::ml {
namespace {

constexpr std::size_t kSystemPrefixChars = 256;

// Appends the text of an OpenAI message `content` (a string, or the "text" of its parts) to `out`.
void append_content(const boost::json::value& content, std::string& out, std::size_t limit) {
  auto append = [&](std::string_view s) {
    if (out.size() >= limit) return;
    if (s.size() > limit - out.size()) {
      std::size_t cut = limit - out.size();  // never inside a UTF-8 sequence
      while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
      s = s.substr(0, cut);
    }
    out.append(s);
  };
  if (const auto* s = content.if_string()) return append(*s);
  if (const auto* parts = content.if_array()) {
    bool first = true;
    for (const auto& part : *parts) {  // content parts, or a completion prompt's strings
      const auto* obj = part.if_object();
      const auto* text = obj ? obj->if_contains("text") : &part;
      if (!text || !text->is_string()) continue;
      if (!first) append("\n");
      append(text->get_string());
      first = false;
    }
  }
}

}  // namespace

// ---- the learner table ----

std::span<const Learner> learners() {
  static const Learner kLearners[] = {
      {"knn", "KNN ", train_knn, load_knn},
      {"mlp", "MLP ", train_mlp, load_mlp},
      {"svm", "SVM ", train_svm, load_svm},
      {"mf", "MF  ", train_mf, load_mf},
      {"elo", "ELO ", train_elo, load_elo},
      {"smallest", "SIZE", train_smallest, load_smallest, false},
      {"largest", "SIZE", train_largest, load_largest, false},
  };
  return kLearners;
}

const Learner* find_learner(std::string_view name) {
  for (const Learner& l : learners()) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

Error artifact_error(const std::string& message) {
  return Error{400, "invalid_request_error", "invalid routing artifact: " + message, {}, {}, {}};
}

float sigmoid(float x) noexcept {
  return 1.0f / (1.0f + std::exp(-x));
}

// ---- TrainingSet, Params ----

void TrainingSet::add(const FeatureVector& f, std::span<const float> row_scores) {
  index.insert(index.end(), f.index.begin(), f.index.end());
  value.insert(value.end(), f.value.begin(), f.value.end());
  start.push_back(index.size());
  sparse.push_back(static_cast<std::uint32_t>(f.sparse));
  scores.insert(scores.end(), row_scores.begin(), row_scores.end());
}

Result<Params> Params::parse(std::span<const std::string> assignments) {
  Params p;
  for (const std::string& a : assignments) {
    const auto eq = a.find('=');
    char* end = nullptr;
    const std::string value = eq == std::string::npos ? "" : a.substr(eq + 1);
    errno = 0;
    const double v = std::strtod(value.c_str(), &end);
    if (eq == 0 || eq == std::string::npos || value.empty() || *end != '\0' || errno != 0 ||
        !std::isfinite(v))
      return Error{400, "invalid_request_error", "--param " + a + ": expected name=number", {}, {}, {}};
    p.values_[a.substr(0, eq)] = v;
  }
  return p;
}

double Params::get(std::string_view name, double fallback) const {
  read_[std::string(name)] = true;
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::uint32_t Params::get_u32(std::string_view name, std::uint32_t fallback) const {
  const double v = get(name, fallback);
  return v <= 0 ? 0u : v >= 4294967295.0 ? 4294967295u : static_cast<std::uint32_t>(std::llround(v));
}

std::vector<std::string> Params::unread() const {
  std::vector<std::string> out;
  for (const auto& [name, v] : values_) {
    if (!read_.count(name)) out.push_back(name);
  }
  return out;
}

// ---- loading ----

bool LearnedPredictor::predict(std::string_view text, std::span<const float> embedding,
                               std::span<float> out) const {
  thread_local FeatureVector f;
  if (base_.featurizer) {
    base_.featurizer->featurize(text, f);
  } else {
    f.index.clear(), f.value.clear(), f.sparse = 0, f.embedding = 0;
  }
  const bool use_embedding = base_.embedding_dim > 0 && embedding.size() == base_.embedding_dim;
  if (use_embedding) append_embedding(embedding, base_.featurizer->columns(), f);
  score(f, out);
  return use_embedding;
}

namespace {

// An artifact trained with external embeddings: the model that reads them, and the one trained on the
// built-in featurizer alone for requests whose embedding is missing or of another dimension.
class EmbeddedPredictor final : public Predictor {
 public:
  EmbeddedPredictor(std::shared_ptr<const Predictor> with_embedding, std::shared_ptr<const Predictor> builtin,
                    std::string embedding_model)
      : with_embedding_(std::move(with_embedding)),
        builtin_(std::move(builtin)),
        embedding_model_(std::move(embedding_model)) {}
  std::string_view strategy() const noexcept override { return builtin_->strategy(); }
  std::string_view checksum() const noexcept override { return builtin_->checksum(); }
  std::span<const std::string> models() const noexcept override { return builtin_->models(); }
  std::uint32_t embedding_dimension() const noexcept override {
    return with_embedding_->embedding_dimension();
  }
  std::string_view embedding_model() const noexcept override { return embedding_model_; }
  bool predict(std::string_view text, std::span<const float> embedding, std::span<float> out) const override {
    if (embedding.size() == embedding_dimension()) return with_embedding_->predict(text, embedding, out);
    return builtin_->predict(text, {}, out);
  }

 private:
  std::shared_ptr<const Predictor> with_embedding_, builtin_;
  std::string embedding_model_;
};

// The learner's model in `section`, checked to its last byte.
Result<std::shared_ptr<const Predictor>> load_section(const Learner& learner, const SectionView& section,
                                                      LoadedArtifact base) {
  const std::string tag(section.tag.data(), 4);
  ByteReader reader(section.bytes, "section " + tag);
  Result<std::shared_ptr<const Predictor>> predictor = learner.load(reader, std::move(base));
  if (!predictor) return predictor;
  if (!reader.ok()) return artifact_error(reader.error());
  if (!reader.at_end()) return artifact_error("section " + tag + ": bytes left over");
  return predictor;
}

}  // namespace

Result<std::shared_ptr<const Predictor>> load_predictor(std::span<const std::byte> bytes) {
  Result<Artifact> parsed = parse_artifact(bytes);
  if (!parsed) return parsed.error();
  const Artifact& artifact = parsed.value();
  const Learner* learner = find_learner(artifact.header.strategy);
  if (!learner) return artifact_error("unknown strategy '" + artifact.header.strategy + "'");

  LoadedArtifact base;
  base.strategy = artifact.header.strategy;
  base.checksum = artifact.checksum;
  base.models = artifact.header.models;
  for (const auto& m : base.models) base.model_names.push_back(m.name);
  if (learner->uses_features) {
    const SectionView* feat = artifact.find("FEAT");
    if (!feat) return artifact_error("no FEAT section");
    Result<Featurizer> featurizer = Featurizer::read(feat->bytes);
    if (!featurizer) return featurizer.error();
    base.featurizer = std::make_shared<const Featurizer>(std::move(featurizer.value()));
  }
  const SectionView* section = artifact.find(learner->section);
  if (!section) return artifact_error("no '" + std::string(learner->section) + "' section");
  const SectionView* embd = artifact.find("EMBD");
  if (!embd) return load_section(*learner, *section, std::move(base));

  // Trained with embeddings: the learner's section reads them, BASE holds the built-in model.
  if (artifact.version < kArtifactVersionEmbeddings)
    return artifact_error("EMBD section in a version 1 artifact");
  if (!learner->uses_features) return artifact_error("EMBD section for a strategy without features");
  const SectionView* builtin_section = artifact.find("BASE");
  if (!builtin_section) return artifact_error("EMBD without its BASE section (the built-in model)");
  Result<EmbeddingInfo> info = read_embedding_info(embd->bytes);
  if (!info) return info.error();
  LoadedArtifact embedded = base;
  embedded.embedding_dim = info.value().dimension;
  Result<std::shared_ptr<const Predictor>> with_embedding =
      load_section(*learner, *section, std::move(embedded));
  if (!with_embedding) return with_embedding;
  Result<std::shared_ptr<const Predictor>> builtin =
      load_section(*learner, *builtin_section, std::move(base));
  if (!builtin) return builtin;
  return std::shared_ptr<const Predictor>(std::make_shared<EmbeddedPredictor>(
      std::move(with_embedding.value()), std::move(builtin.value()), std::move(info.value().model)));
}

Result<std::shared_ptr<const Predictor>> load_predictor(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{400,
                 "invalid_request_error",
                 "cannot read routing artifact " + path + ": " + std::strerror(errno),
                 {},
                 {},
                 {}};
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Result<std::shared_ptr<const Predictor>> loaded = load_predictor(as_bytes(bytes));
  if (!loaded) loaded.error().message = path + ": " + loaded.error().message;
  return loaded;
}

// ---- routing text ----

void routing_text(const boost::json::object& request_body, std::string& out) {
  out.clear();
  const auto* messages = request_body.if_contains("messages");
  if (!messages || !messages->is_array()) {
    if (const auto* prompt = request_body.if_contains("prompt")) append_content(*prompt, out, SIZE_MAX);
    return;
  }
  const boost::json::value* last_user = nullptr;
  for (const auto& m : messages->get_array()) {
    const auto* msg = m.if_object();
    const auto* role = msg ? msg->if_contains("role") : nullptr;
    const auto* content = msg ? msg->if_contains("content") : nullptr;
    if (!role || !role->is_string() || !content) continue;
    const auto& r = role->get_string();
    if ((r == "system" || r == "developer") && out.size() < kSystemPrefixChars) {
      if (!out.empty()) out.push_back(' ');
      append_content(*content, out, kSystemPrefixChars);
    } else if (r == "user") {
      last_user = content;
    }
  }
  if (!last_user) return;
  if (!out.empty()) out.push_back('\n');
  append_content(*last_user, out, SIZE_MAX);
}

}  // namespace sy::router::ml
