/* Native parts of govchain's Merkle state tree (state_native.c), registered on the addon's
 * exports by gm_native.c. */
#ifndef GOVCHAIN_STATE_NATIVE_H
#define GOVCHAIN_STATE_NATIVE_H

#include <node_api.h>
#include <stdbool.h>

/* Adds digestMany and merkleRebuild to `exports`. Returns false with an exception pending. */
bool state_native_init(napi_env env, napi_value exports);

#endif
