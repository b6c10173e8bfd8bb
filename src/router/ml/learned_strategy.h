// Learned routing strategies (llmrouter-knn, -mlp, -svm, -mf, -elo, -smallest, -largest, -hybrid): the
// artifact `switchyard train` wrote predicts each model's quality for the request's routing text, and the
// group's deployments are ordered by it — quality first, or for llmrouter-hybrid by the cost/quality
// trade-off. Deployments that map to no model of the artifact follow, in the fallback strategy's order;
// without a usable artifact the fallback strategy decides alone. The artifact is swapped whole on reload
// (SIGHUP, hot_reload); decisions never wait for a reload and never fail for want of an artifact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "router/ml/predictor.h"
#include "router/strategy.h"
#include "util/error.h"

namespace sy::router::ml {

// PredictorLoader (router/strategy.h) that calls load_predictor.
PredictorLoader default_predictor_loader();

// "llmrouter-knn" ... "llmrouter-hybrid".
bool is_learned_strategy(std::string_view routing_strategy) noexcept;
// The learner an artifact must come from for `routing_strategy` ("knn" for llmrouter-knn); empty for
// llmrouter-hybrid, which takes any.
std::string_view learner_of(std::string_view routing_strategy) noexcept;

// The artifact model names a deployment may serve, most specific first: model_info.llmrouter_model alone when
// set; otherwise the candidate whose `model` is the deployment's litellm_params.model (or the part after the
// provider), then that provider model id, then its last path segment.
std::vector<std::string> model_names_for(const config::Deployment& deployment,
                                         std::span<const config::LlmCandidate> candidates);

// `fallback` ranks when there is no artifact, and ranks the deployments no artifact model maps to. The model
// list must outlive the strategy. The artifact (args.model_path) is loaded before this returns.
std::unique_ptr<Strategy> make_learned_strategy(std::string_view routing_strategy,
                                                const config::LearnedRoutingArgs& args,
                                                const std::vector<config::Deployment>& model_list,
                                                std::unique_ptr<Strategy> fallback, PredictorLoader loader);

}  // namespace sy::router::ml
