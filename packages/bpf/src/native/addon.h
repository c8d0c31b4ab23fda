// What the addon's translation units share: the BPF object behind a handle, errno results, and the uprobe
// functions (uprobes.cc) that addon.cc registers and tears down with their object.
#pragma once
#include <napi.h>
#include <bpf/libbpf.h>
#include <cstdint>

namespace sextant {

/** The bpf_object of the handle in info[i]; throws a JS error for an invalid handle. */
bpf_object *ObjectOf(const Napi::CallbackInfo &info, size_t i = 0);

/** -errno as a JS number (err may be given either sign). */
Napi::Value ErrnoValue(Napi::Env env, int err);

/** attachUprobe / detachLink. */
void RegisterUprobes(Napi::Env env, Napi::Object exports);

/** Destroys the uprobe links of an object (its close, or the addon's cleanup). */
void DestroyUprobeLinks(uint32_t handle);

}  // namespace sextant
