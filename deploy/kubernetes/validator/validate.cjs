// Offline checks of the rendered Kubernetes manifests (run by ../validate.sh, which renders
// each overlay with `kubectl kustomize` and installs this folder's pinned packages).
//
//   node validate.cjs --modules DIR --fn-runner BIN NAME=RENDERED.yaml [NAME=RENDERED.yaml ...]
//
// DIR holds the node_modules of package-lock.json; BIN is the fn-runner binary whose --help
// lists the variables it knows. Prints one line per failure and a summary; exit 0 when
// nothing failed, 1 otherwise, 2 for bad usage.
//
// What is checked, per overlay:
//   1. Schema. Every object against the OpenAPI schema of Kubernetes v1.33.0
//      (kubernetes-models 4.5.1) and the ServiceMonitor against prometheus-operator v0.65.1's
//      CRD schema (@kubernetes-models/prometheus-operator 4.4.4): types, enums, required
//      fields. Those schemas allow unknown fields, as Kubernetes' OpenAPI v2 does, but the
//      API server rejects them (kubectl's strict field validation): a misspelt
//      `readinesProbe` would otherwise pass. So each object is validated through Proxies
//      that record which fields the generated validator reads; it reads every field its
//      schema defines, so a field it never reads is unknown.
//   2. fn-runner containers (named fn-runner, or from an image named fn-runner): every FN_*
//      variable is one `fn-runner --help` lists; fn-runner accepts the values (it validates
//      them before honouring --help); containerPorts and probes use FN_GRPC_PORT / FN_PORT;
//      no native gRPC probe when TLS is on (the kubelet cannot speak TLS); the TLS files lie
//      in a mounted volume; the iofs directory is a hostPath mounted at the same path;
//      the Docker socket is mounted; terminationGracePeriodSeconds covers the preStop sleep
//      and the drain grace; no CPU/memory limit (it would cap the functions' capacity);
//      the Prometheus annotations name the metrics port.
//   3. Wiring between objects: Services, the PodDisruptionBudget, the NetworkPolicy and the
//      ServiceMonitor select what they are meant to; runner Services are headless; a
//      StatefulSet's serviceName is such a Service; fn LB containers (FN_NODE_TYPE=lb) list
//      exactly the StatefulSet runner pods, by stable name and gRPC port, in
//      FN_RUNNER_ADDRESSES, and may reach them through the NetworkPolicy.
// Then a self-check: the checks must catch a set of known-bad edits of the overlays, so a
// check that silently stopped working fails the run too.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { createRequire } = require("node:module");
const { spawnSync } = require("node:child_process");

// ---------------------------------------------------------------- arguments, packages

function parseArgs(argv) {
  const args = { modules: null, fnRunner: null, inputs: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--modules") args.modules = argv[++i];
    else if (argv[i] === "--fn-runner") args.fnRunner = argv[++i];
    else if (/^[^=]+=.+/.test(argv[i])) {
      const eq = argv[i].indexOf("=");
      args.inputs.push({ name: argv[i].slice(0, eq), file: argv[i].slice(eq + 1) });
    } else {
      usage(`unexpected argument ${argv[i]}`);
    }
  }
  if (!args.modules || !args.fnRunner || args.inputs.length === 0) usage("missing arguments");
  return args;
}

function usage(message) {
  console.error(`validate.cjs: ${message}\n` +
    "usage: node validate.cjs --modules DIR --fn-runner BIN NAME=RENDERED.yaml ...");
  process.exit(2);
}

const args = parseArgs(process.argv.slice(2));
// The packages live outside the source tree (validate.sh's cache): resolve from there.
const requireModule = createRequire(path.join(path.resolve(args.modules), "package.json"));
const yaml = requireModule("js-yaml");

// apiVersion -> the module exporting its model classes (their prototype.validate runs the
// generated schema validator on `this`).
function modelClass(apiVersion, kind) {
  const module = apiVersion.startsWith("monitoring.coreos.com/")
    ? `@kubernetes-models/prometheus-operator/${apiVersion}`
    : `kubernetes-models/${apiVersion}`;
  try {
    return requireModule(module)[kind] || null;
  } catch (e) {
    return null;
  }
}

// ---------------------------------------------------------------- fn-runner's settings

// Reads `fn-runner --help`: the FN_* variables (flag lines "(FN_X, default D)" and the
// environment-only lines "  FN_X (default D)") with their defaults.
function readRunnerHelp(binary) {
  const run = spawnSync(binary, ["--help"], { encoding: "utf8", env: {} });
  if (run.error || run.status !== 0) {
    throw new Error(`${binary} --help failed: ${run.error || run.stderr}`);
  }
  const known = new Map();
  for (const m of run.stdout.matchAll(/\((FN_[A-Z0-9_]+), default ([^\n]*)\)\n/g)) {
    known.set(m[1], m[2]);
  }
  for (const m of run.stdout.matchAll(/^ {2}(FN_[A-Z0-9_]+) \(default ([^\n]*)\)$/gm)) {
    known.set(m[1], m[2]);
  }
  // A changed --help format must not turn this check into "nothing is known".
  for (const name of ["FN_GRPC_PORT", "FN_PORT", "FN_DRAIN_GRACE_MSECS", "FN_IOFS_PATH",
                      "FN_NODE_CERT", "FN_CONTAINER_LABEL_TAG"]) {
    if (!known.has(name)) throw new Error(`${binary} --help does not list ${name}: format changed?`);
  }
  return known;
}

function numericDefault(known, name) {
  const value = parseInt(known.get(name), 10);
  if (Number.isNaN(value)) throw new Error(`no numeric default for ${name} in --help`);
  return value;
}

// Asks fn-runner itself whether it accepts these values: it parses and validates every
// setting before it honours --help (exit 2 and a message naming the variable otherwise).
const valueVerdicts = new Map();
function runnerRejects(binary, env) {
  const key = JSON.stringify(Object.entries(env).sort());
  if (!valueVerdicts.has(key)) {
    const run = spawnSync(binary, ["--help"], { encoding: "utf8", env });
    valueVerdicts.set(key, run.status === 0 ? null : (run.stderr || `exit ${run.status}`).trim());
  }
  return valueVerdicts.get(key);
}

// ---------------------------------------------------------------- schema, unknown fields

// A deep copy of `value` in which every object is a Proxy recording the fields read.
function tracked(value, where, log) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v, i) => tracked(v, `${where}[${i}]`, log));
  const target = {};
  for (const [k, v] of Object.entries(value)) target[k] = tracked(v, `${where}.${k}`, log);
  const read = new Set();
  log.push({ where, target, read });
  return new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === "string") read.add(key);
      return Reflect.get(t, key, receiver);
    },
  });
}

function checkSchema(obj, fail) {
  const Model = modelClass(obj.apiVersion, obj.kind);
  if (!Model) {
    fail(`no schema for ${obj.apiVersion} ${obj.kind} (add its package to validator/)`);
    return;
  }
  const log = [];
  try {
    Model.prototype.validate.call(tracked(obj, "", log));
  } catch (e) {
    fail(`schema: ${e.message}`);
  }
  // An object the validator never read from is free-form (no properties in its schema) or
  // sits under an unknown field, which its parent reports.
  for (const { where, target, read } of log) {
    if (read.size === 0) continue;
    for (const key of Object.keys(target)) {
      if (!read.has(key)) fail(`unknown field ${where.slice(1) ? where.slice(1) + "." : ""}${key}`);
    }
  }
}

// ---------------------------------------------------------------- object helpers

const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass",
                                "CustomResourceDefinition", "StorageClass", "PersistentVolume"]);
const WORKLOAD_KINDS = new Set(["DaemonSet", "StatefulSet", "Deployment", "ReplicaSet", "Job"]);

function id(obj) {
  return `${obj.kind}/${(obj.metadata || {}).name}`;
}

function namespaceOf(obj) {
  return (obj.metadata || {}).namespace || "default";
}

function podTemplate(obj) {
  if (obj.kind === "Pod") return { metadata: obj.metadata || {}, spec: obj.spec || {} };
  if (WORKLOAD_KINDS.has(obj.kind)) return (obj.spec || {}).template || null;
  return null;
}

function labelsMatch(selector, labels) {
  if (!selector) return false;
  labels = labels || {};
  for (const [k, v] of Object.entries(selector.matchLabels || {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions || []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === "In" && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// A Service's selector is a plain map.
function mapSelects(selector, labels) {
  return !!selector && Object.keys(selector).length > 0 && labelsMatch({ matchLabels: selector }, labels);
}

function isRunnerContainer(c) {
  const image = (c.image || "").split("@")[0];
  const base = image.slice(image.lastIndexOf("/") + 1).split(":")[0];
  return c.name === "fn-runner" || base === "fn-runner";
}

// The environment a container gets: envFrom first, then env (which wins). Values that
// only the cluster knows (fieldRef, Secrets) become placeholders / unknown.
function containerEnv(c, ns, objects, fail, notes) {
  const env = new Map();  // name -> { value, source }
  for (const from of c.envFrom || []) {
    const prefix = from.prefix || "";
    if (from.configMapRef) {
      const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === from.configMapRef.name &&
                                     namespaceOf(o) === ns);
      if (!cm) {
        if (!from.configMapRef.optional) fail(`envFrom: ConfigMap ${from.configMapRef.name} is not in the manifests`);
        continue;
      }
      for (const [k, v] of Object.entries(cm.data || {})) env.set(prefix + k, { value: v, source: `ConfigMap ${cm.metadata.name}` });
    } else if (from.secretRef) {
      notes.add(`Secret ${from.secretRef.name} (envFrom) must exist in namespace ${ns}`);
    }
  }
  for (const e of c.env || []) {
    if ("value" in e) env.set(e.name, { value: String(e.value), source: "env" });
    else if (e.valueFrom && e.valueFrom.fieldRef) env.set(e.name, { value: "placeholder-from-fieldref", source: "fieldRef" });
    else if (e.valueFrom && e.valueFrom.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === ref.name && namespaceOf(o) === ns);
      if (!cm || !(ref.key in (cm.data || {}))) {
        if (!ref.optional) fail(`env ${e.name}: ConfigMap key ${ref.name}/${ref.key} is not in the manifests`);
      } else {
        env.set(e.name, { value: cm.data[ref.key], source: `ConfigMap ${ref.name}` });
      }
    } else {
      env.set(e.name, { value: null, source: "secret or resource" });  // known only in the cluster
    }
  }
  return env;
}

function envValue(env, name) {
  const e = env.get(name);
  return e && e.value !== null && e.value.trim() !== "" ? e.value.trim() : null;
}

// containerPort of a port given by number or by name.
function resolvePort(port, c) {
  if (typeof port === "number") return port;
  const named = (c.ports || []).find((p) => p.name === port);
  return named ? named.containerPort : null;
}

// Seconds a preStop hook takes: `sleep N` as exec, or the native sleep action.
function preStopSeconds(c) {
  const hook = ((c.lifecycle || {}).preStop) || {};
  if (hook.sleep) return hook.sleep.seconds || 0;
  const cmd = (hook.exec || {}).command || [];
  const i = cmd.findIndex((w) => /(^|\/)sleep$/.test(w));
  return i >= 0 && /^\d+$/.test(cmd[i + 1] || "") ? parseInt(cmd[i + 1], 10) : 0;
}

// The mounted volume holding `file`, and the file's path relative to the mount.
function mountHolding(file, c, volumes) {
  for (const m of c.volumeMounts || []) {
    const dir = m.mountPath.replace(/\/+$/, "");
    if (file.startsWith(dir + "/")) {
      return { mount: m, volume: volumes.find((v) => v.name === m.name) || null, rel: file.slice(dir.length + 1) };
    }
  }
  return null;
}

// ---------------------------------------------------------------- fn-runner containers

// Rule: terminationGracePeriodSeconds >= preStop sleep + drain grace + this much for the
// runner's own shutdown (up to 5 s for streams to end, then removing its containers).
const SHUTDOWN_MARGIN_SECONDS = 15;

function checkRunner(obj, c, ctx, fail) {
  const ns = namespaceOf(obj);
  const tpl = podTemplate(obj);
  const spec = tpl.spec || {};
  const volumes = spec.volumes || [];
  const env = containerEnv(c, ns, ctx.objects, fail, ctx.notes);

  // Names fn-runner knows, and values it accepts.
  const fnVars = {};
  for (const [name, e] of env) {
    if (!name.startsWith("FN_")) continue;
    if (!ctx.known.has(name)) {
      fail(`${name} (from ${e.source}) is not a variable fn-runner knows (fn-runner --help)`);
    } else if (e.value !== null) {
      fnVars[name] = e.value;
    }
  }
  const verdict = runnerRejects(ctx.binary, fnVars);
  if (verdict) fail(`fn-runner rejects these settings: ${verdict}`);

  const grpcPort = parseInt(envValue(env, "FN_GRPC_PORT") || numericDefault(ctx.known, "FN_GRPC_PORT"), 10);
  const metricsPort = parseInt(envValue(env, "FN_PORT") || numericDefault(ctx.known, "FN_PORT"), 10);
  const drainMs = parseInt(envValue(env, "FN_DRAIN_GRACE_MSECS") || numericDefault(ctx.known, "FN_DRAIN_GRACE_MSECS"), 10);
  const tls = envValue(env, "FN_NODE_CERT") !== null;
  const mutualTls = envValue(env, "FN_NODE_CERT_AUTHORITY") !== null;

  // Ports.
  const ports = (c.ports || []).map((p) => p.containerPort);
  if (!ports.includes(grpcPort)) fail(`no containerPort ${grpcPort} (FN_GRPC_PORT)`);
  if (!ports.includes(metricsPort)) fail(`no containerPort ${metricsPort} (FN_PORT)`);
  for (const p of ports) {
    if (p !== grpcPort && p !== metricsPort) fail(`containerPort ${p} is neither FN_GRPC_PORT (${grpcPort}) nor FN_PORT (${metricsPort})`);
  }

  // Probes.
  for (const kind of ["readinessProbe", "livenessProbe"]) {
    if (!c[kind]) fail(`no ${kind}`);
  }
  for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    const probe = c[kind];
    if (!probe) continue;
    if (probe.grpc) {
      if (probe.grpc.port !== grpcPort) fail(`${kind}: gRPC port ${probe.grpc.port} is not FN_GRPC_PORT (${grpcPort})`);
      if (tls) fail(`${kind}: a native gRPC probe cannot speak TLS, and FN_NODE_CERT is set (use an exec probe: fnlb health --tls-...)`);
      if (probe.grpc.service && probe.grpc.service !== "RunnerProtocol") {
        fail(`${kind}: fn-runner's health service is "" or "RunnerProtocol", not "${probe.grpc.service}"`);
      }
    }
    for (const handler of ["httpGet", "tcpSocket"]) {
      if (!probe[handler]) continue;
      const port = resolvePort(probe[handler].port, c);
      if (port !== grpcPort && port !== metricsPort) fail(`${kind}: ${handler} port ${probe[handler].port} is not a port fn-runner serves`);
      if (handler === "httpGet" && port === grpcPort) fail(`${kind}: httpGet on the gRPC port`);
    }
    if (probe.exec) {
      const cmd = probe.exec.command || [];
      if (/(^|\/)fnlb$/.test(cmd[0] || "")) {
        if (cmd[1] !== "health") fail(`${kind}: fnlb ${cmd[1]}: the probe command is fnlb health`);
        if (cmd.includes("--runners")) fail(`${kind}: fnlb health --runners: leave it out, fnlb then asks 127.0.0.1:$FN_GRPC_PORT`);
        const flagValue = (flag) => { const i = cmd.indexOf(flag); return i >= 0 ? cmd[i + 1] : null; };
        if (tls && !cmd.includes("--tls") && !flagValue("--tls-ca")) fail(`${kind}: TLS is on but fnlb health is told no --tls-ca`);
        if (mutualTls && !(flagValue("--tls-cert") && flagValue("--tls-key"))) {
          fail(`${kind}: mutual TLS is on but fnlb health presents no client certificate (--tls-cert/--tls-key)`);
        }
        for (const flag of ["--tls-ca", "--tls-cert", "--tls-key"]) {
          const file = flagValue(flag);
          if (file && !mountHolding(file, c, volumes)) fail(`${kind}: ${flag} ${file} is in no mounted volume`);
        }
      }
    }
  }

  // TLS files must come from a mounted volume (a Secret: with `items`, the key must be listed).
  for (const name of ["FN_NODE_CERT", "FN_NODE_CERT_KEY", "FN_NODE_CERT_AUTHORITY"]) {
    const file = envValue(env, name);
    if (!file) continue;
    const held = mountHolding(file, c, volumes);
    if (!held || !held.volume) {
      fail(`${name}=${file} is in no mounted volume`);
    } else if (held.volume.secret) {
      const items = held.volume.secret.items;
      if (items && !items.some((it) => it.path === held.rel)) fail(`${name}=${file}: Secret volume ${held.volume.name} has no item ${held.rel}`);
      ctx.notes.add(`Secret ${held.volume.secret.secretName} (TLS files) must exist in namespace ${ns}`);
    }
  }

  // iofs: a host directory, mounted where FN_IOFS_PATH says, at the host's own path (or
  // FN_IOFS_DOCKER_PATH names the host path).
  const iofs = envValue(env, "FN_IOFS_PATH");
  if (!iofs || !iofs.startsWith("/")) {
    fail("FN_IOFS_PATH must be set to an absolute path (the default, $TMPDIR or /tmp, is the container's own)");
  } else {
    const mount = (c.volumeMounts || []).find((m) => m.mountPath.replace(/\/+$/, "") === iofs.replace(/\/+$/, ""));
    const volume = mount && volumes.find((v) => v.name === mount.name);
    if (!volume || !volume.hostPath) {
      fail(`FN_IOFS_PATH=${iofs} is not a hostPath volume mounted at that path`);
    } else {
      const hostPath = volume.hostPath.path.replace(/\/+$/, "");
      const dockerPath = envValue(env, "FN_IOFS_DOCKER_PATH");
      const expected = (dockerPath || iofs).replace(/\/+$/, "");
      if (hostPath !== expected) {
        fail(`iofs hostPath ${hostPath} != ${dockerPath ? "FN_IOFS_DOCKER_PATH" : "FN_IOFS_PATH"} ${expected}: the host engine would bind-mount the wrong directory`);
      }
      if (mount.readOnly) fail("the iofs volume is mounted read-only");
    }
  }

  // The Docker engine's socket.
  const dockerHost = envValue(env, "DOCKER_HOST") || "unix:///var/run/docker.sock";
  const socket = dockerHost.replace(/^unix:\/\//, "");
  const sockMount = (c.volumeMounts || []).find((m) => m.mountPath === socket);
  const sockVolume = sockMount && volumes.find((v) => v.name === sockMount.name);
  if (!sockVolume || !sockVolume.hostPath) fail(`the Docker socket ${socket} is not mounted from the host`);

  // Shutdown: the kubelet must not SIGKILL a draining runner.
  const grace = spec.terminationGracePeriodSeconds !== undefined ? spec.terminationGracePeriodSeconds : 30;
  const needed = preStopSeconds(c) + Math.ceil(drainMs / 1000) + SHUTDOWN_MARGIN_SECONDS;
  if (grace < needed) {
    fail(`terminationGracePeriodSeconds ${grace} < preStop ${preStopSeconds(c)} s + FN_DRAIN_GRACE_MSECS ${drainMs / 1000} s + ${SHUTDOWN_MARGIN_SECONDS} s shutdown`);
  }
  if (!(c.lifecycle || {}).preStop) fail("no preStop hook");

  // Resources.
  const res = c.resources || {};
  for (const r of ["cpu", "memory"]) {
    if (!(res.requests || {})[r]) fail(`no ${r} request`);
    if ((res.limits || {})[r]) {
      fail(`a ${r} limit: fn-runner reads its own cgroup limits as the capacity for functions (which run outside the pod); set FN_MAX_TOTAL_${r === "cpu" ? "CPU_MCPUS" : "MEMORY_BYTES"} instead`);
    }
  }

  // Prometheus annotations.
  const ann = (tpl.metadata || {}).annotations || {};
  if (ann["prometheus.io/scrape"] === "true") {
    if (ann["prometheus.io/port"] !== String(metricsPort)) fail(`prometheus.io/port ${ann["prometheus.io/port"]} is not FN_PORT (${metricsPort})`);
    if ((ann["prometheus.io/path"] || "/metrics") !== "/metrics") fail(`prometheus.io/path ${ann["prometheus.io/path"]} is not /metrics`);
  }

  const portNames = {};
  for (const p of c.ports || []) if (p.name) portNames[p.name] = p.containerPort;
  return { grpcPort, metricsPort, portNames, labels: (tpl.metadata || {}).labels || {} };
}

// ---------------------------------------------------------------- fn LB containers

// fn's LB takes a static list: each entry must be one StatefulSet runner pod's stable name,
// <sts>-<ordinal>.<service>.<namespace>.svc[.<cluster domain>]:<FN_GRPC_PORT>, and each pod
// must be listed.
function checkFnLb(obj, c, ctx, runners, fail) {
  const ns = namespaceOf(obj);
  const env = containerEnv(c, ns, ctx.objects, fail, ctx.notes);
  const list = envValue(env, "FN_RUNNER_ADDRESSES");
  if (!envValue(env, "FN_RUNNER_API_URL")) fail("fn LB without FN_RUNNER_API_URL (fn's LB will not start)");
  if (!list) {
    fail("fn LB without FN_RUNNER_ADDRESSES (fn's LB will not start)");
    return;
  }
  const seen = new Map();  // StatefulSet name -> Set of ordinals
  for (const entry of list.split(",").map((s) => s.trim())) {
    const m = /^([a-z0-9-]+)-(\d+)\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.[a-z0-9.-]+)?:(\d+)$/.exec(entry);
    if (!m) {
      if (/\.svc(\.|:|$)/.test(entry)) fail(`FN_RUNNER_ADDRESSES entry ${entry} is a Service name: list each runner pod (runner-N.<service>.<namespace>.svc)`);
      else fail(`FN_RUNNER_ADDRESSES entry ${entry} is not a runner pod's stable name`);
      continue;
    }
    const [, stsName, ordinal, service, namespace, , port] = m;
    const runner = runners.find((r) => r.obj.kind === "StatefulSet" && r.obj.metadata.name === stsName && namespaceOf(r.obj) === namespace);
    if (!runner) {
      fail(`FN_RUNNER_ADDRESSES entry ${entry}: no runner StatefulSet ${stsName} in namespace ${namespace}`);
      continue;
    }
    const replicas = runner.obj.spec.replicas === undefined ? 1 : runner.obj.spec.replicas;
    if (runner.obj.spec.serviceName !== service) fail(`FN_RUNNER_ADDRESSES entry ${entry}: StatefulSet ${stsName}'s serviceName is ${runner.obj.spec.serviceName}, not ${service}`);
    if (parseInt(ordinal, 10) >= replicas) fail(`FN_RUNNER_ADDRESSES entry ${entry}: StatefulSet ${stsName} has ${replicas} replicas`);
    if (parseInt(port, 10) !== runner.grpcPort) fail(`FN_RUNNER_ADDRESSES entry ${entry}: the runners serve gRPC on ${runner.grpcPort}`);
    if (!seen.has(stsName)) seen.set(stsName, new Set());
    if (seen.get(stsName).has(ordinal)) fail(`FN_RUNNER_ADDRESSES lists ${stsName}-${ordinal} twice`);
    seen.get(stsName).add(ordinal);
  }
  for (const [stsName, ordinals] of seen) {
    const sts = runners.find((r) => r.obj.kind === "StatefulSet" && r.obj.metadata.name === stsName).obj;
    const replicas = sts.spec.replicas === undefined ? 1 : sts.spec.replicas;
    for (let i = 0; i < replicas; i++) {
      if (!ordinals.has(String(i))) fail(`FN_RUNNER_ADDRESSES misses ${stsName}-${i}: that runner would get no calls`);
    }
  }
  // The NetworkPolicy on the runners must let this LB reach their gRPC port.
  const lbLabels = (podTemplate(obj).metadata || {}).labels || {};
  for (const runner of runners) {
    if (!reachable(ctx.objects, runner, lbLabels, ns, runner.grpcPort)) {
      fail(`the NetworkPolicy of ${id(runner.obj)} does not let these pods reach gRPC port ${runner.grpcPort}`);
    }
  }
}

// Whether pods with `labels` in namespace `ns` may reach `port` of the runner's pods under
// the NetworkPolicies that select them (none: everything may).
function reachable(objects, runner, labels, ns, port) {
  const policies = objects.filter((o) => o.kind === "NetworkPolicy" && namespaceOf(o) === namespaceOf(runner.obj) &&
                                         labelsMatch(o.spec.podSelector, runner.labels) &&
                                         (o.spec.policyTypes || ["Ingress"]).includes("Ingress"));
  if (policies.length === 0) return true;
  // A namespace's labels: those the manifests give it, and the one Kubernetes adds.
  const namespace = objects.find((o) => o.kind === "Namespace" && o.metadata.name === ns);
  const nsLabels = { ...((namespace && namespace.metadata.labels) || {}), "kubernetes.io/metadata.name": ns };
  return policies.some((p) => (p.spec.ingress || []).some((rule) => {
    const portOk = !rule.ports || rule.ports.some((rp) => rp.port === undefined || policyPort(rp, runner) === port);
    const fromOk = !rule.from || rule.from.some((peer) => !peer.ipBlock &&
      (peer.namespaceSelector ? labelsMatch(peer.namespaceSelector, nsLabels) : ns === namespaceOf(p)) &&
      (!peer.podSelector || labelsMatch(peer.podSelector, labels)));
    return portOk && fromOk;
  }));
}

// The number of a NetworkPolicy port, given by number or by the runner's port name.
function policyPort(rp, runner) {
  return typeof rp.port === "string" ? runner.portNames[rp.port] : rp.port;
}

// ---------------------------------------------------------------- one overlay

function checkOverlay(name, objects, ctx) {
  const failures = [];
  const failFor = (obj) => (message) => failures.push(`${name}: ${obj ? id(obj) + ": " : ""}${message}`);
  const octx = { ...ctx, objects, notes: new Set() };

  for (const obj of objects) {
    if (!obj || typeof obj !== "object" || !obj.apiVersion || !obj.kind) {
      failFor(null)("a document without apiVersion/kind");
      continue;
    }
    checkSchema(obj, failFor(obj));
  }
  const valid = objects.filter((o) => o && o.kind && o.metadata && o.metadata.name);

  // Every namespaced object in a namespace these manifests create (an overlay's own
  // resources get none from base's `namespace:`).
  const namespaces = new Set(valid.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name));
  for (const obj of valid) {
    if (CLUSTER_SCOPED.has(obj.kind) || namespaces.size === 0) continue;
    if (!namespaces.has(obj.metadata.namespace)) {
      failFor(obj)(`namespace ${obj.metadata.namespace || "(none: the kubectl context's)"} is not one these manifests create (${[...namespaces].join(", ")}); set namespace: in the kustomization`);
    }
  }

  // fn-runner containers, then fn LB containers (which need the runners' ports).
  const runners = [];
  for (const obj of valid) {
    const tpl = podTemplate(obj);
    for (const c of (tpl && tpl.spec && tpl.spec.containers) || []) {
      if (isRunnerContainer(c)) runners.push({ obj, ...checkRunner(obj, c, octx, failFor(obj)) });
    }
  }
  for (const obj of valid) {
    const tpl = podTemplate(obj);
    for (const c of (tpl && tpl.spec && tpl.spec.containers) || []) {
      if ((c.env || []).some((e) => e.name === "FN_NODE_TYPE" && e.value === "lb")) checkFnLb(obj, c, octx, runners, failFor(obj));
    }
  }
  if (runners.length === 0) failFor(null)("no fn-runner container in this overlay");

  const workloads = valid.filter((o) => podTemplate(o));
  const podsOf = (selects) => workloads.filter((w) => selects((podTemplate(w).metadata || {}).labels));

  for (const obj of valid) {
    const fail = failFor(obj);
    const spec = obj.spec || {};
    if (obj.kind === "Service" && spec.selector) {
      const targets = podsOf((labels) => mapSelects(spec.selector, labels));
      if (targets.length === 0) fail("its selector matches no pods in the manifests");
      const runnerTargets = runners.filter((r) => targets.includes(r.obj));
      if (runnerTargets.length > 0 && spec.clusterIP !== "None") {
        fail("a Service of runners must be headless (clusterIP: None): LBs find each runner by DNS");
      }
      for (const p of spec.ports || []) {
        for (const w of targets) {
          const containers = podTemplate(w).spec.containers || [];
          const target = p.targetPort === undefined ? p.port : p.targetPort;
          if (!containers.some((c) => resolvePort(target, c) !== null && (c.ports || []).some((cp) => cp.containerPort === resolvePort(target, c)))) {
            fail(`port ${p.name || p.port}: targetPort ${target} is no containerPort of ${id(w)}`);
          }
        }
      }
      for (const r of runnerTargets) {
        const portNumbers = (spec.ports || []).map((p) => p.port);
        if (!portNumbers.includes(r.grpcPort)) fail(`no port ${r.grpcPort}: LBs dial the runners' FN_GRPC_PORT`);
      }
    }
    if (obj.kind === "StatefulSet") {
      const svc = valid.find((o) => o.kind === "Service" && o.metadata.name === spec.serviceName && namespaceOf(o) === namespaceOf(obj));
      if (!svc) fail(`serviceName ${spec.serviceName} is not a Service in the manifests`);
      else if ((svc.spec || {}).clusterIP !== "None") fail(`serviceName ${spec.serviceName} is not headless: its pods get no stable DNS names`);
      else if (!mapSelects(svc.spec.selector, (podTemplate(obj).metadata || {}).labels)) fail(`Service ${spec.serviceName} does not select this StatefulSet's pods`);
    }
    if (obj.kind === "PodDisruptionBudget" && podsOf((labels) => labelsMatch(spec.selector, labels)).length === 0) {
      fail("its selector matches no pods in the manifests");
    }
    if (obj.kind === "NetworkPolicy") {
      const guarded = runners.filter((r) => labelsMatch(spec.podSelector, r.labels));
      if (guarded.length === 0) fail("its podSelector matches no runner pods");
      for (const r of guarded) {
        const rules = spec.ingress || [];
        for (const rule of rules) {
          for (const rp of rule.ports || []) {
            const port = policyPort(rp, r);
            if (port !== r.grpcPort && port !== r.metricsPort) fail(`allows port ${rp.port}, which the runners do not serve (${r.grpcPort}, ${r.metricsPort})`);
          }
        }
        const open = rules.some((rule) => !rule.from && (!rule.ports || rule.ports.some((rp) => policyPort(rp, r) === r.grpcPort)));
        if (open) fail(`lets anyone reach gRPC port ${r.grpcPort}: restrict it to the LB pods`);
        if (!rules.some((rule) => rule.from && (rule.ports || []).some((rp) => policyPort(rp, r) === r.grpcPort))) {
          fail(`no rule lets the LBs reach gRPC port ${r.grpcPort}`);
        }
        if (!rules.some((rule) => rule.from && (rule.ports || []).some((rp) => policyPort(rp, r) === r.metricsPort))) {
          fail(`no rule lets Prometheus reach metrics port ${r.metricsPort}`);
        }
      }
    }
    if (obj.kind === "ServiceMonitor") {
      const services = valid.filter((o) => o.kind === "Service" && namespaceOf(o) === namespaceOf(obj) &&
                                            labelsMatch(spec.selector, o.metadata.labels));
      if (services.length === 0) fail("its selector matches no Service in the manifests");
      for (const ep of spec.endpoints || []) {
        for (const s of services) {
          if (!(s.spec.ports || []).some((p) => p.name === ep.port)) fail(`endpoint port ${ep.port} is not a port name of Service ${s.metadata.name}`);
        }
        if (ep.path && ep.path !== "/metrics") fail(`endpoint path ${ep.path}: fn-runner serves /metrics`);
      }
    }
  }
  return { failures, notes: [...octx.notes] };
}

// ---------------------------------------------------------------- self-check

// Known-bad edits; each returns false where it does not apply (e.g. no fn LB in that
// overlay). Every edit must apply to some overlay and make checkOverlay fail wherever it
// applies.
const MUTATIONS = [
  ["misspelt field", (objs) => renameKey(runnerContainer(objs), "readinessProbe", "readinesProbe")],
  ["wrong type", (objs) => { runnerContainer(objs).ports[0].containerPort = "9190"; }],
  ["unknown FN_ variable", (objs) => { configMap(objs).data.FN_GRPC_PORTT = "9190"; }],
  ["value fn-runner rejects", (objs) => { configMap(objs).data.FN_DRAIN_GRACE_MSECS = "soon"; }],
  ["gRPC port moved, ports and probes not", (objs) => { configMap(objs).data.FN_GRPC_PORT = "9191"; }],
  ["grace too short", (objs) => { podTemplate(runnerWorkload(objs)).spec.terminationGracePeriodSeconds = 30; }],
  ["memory limit", (objs) => { runnerContainer(objs).resources.limits = { memory: "1Gi" }; }],
  ["iofs not at the host path", (objs) => { podTemplate(runnerWorkload(objs)).spec.volumes.find((v) => v.name === "iofs").hostPath.path = "/srv/iofs"; }],
  ["Service not headless", (objs) => { delete objs.find((o) => o.kind === "Service" && o.metadata.name === "fn-runner").spec.clusterIP; }],
  ["object outside the namespace", (objs) => { delete objs.find((o) => o.kind === "NetworkPolicy").metadata.namespace; }],
  ["ServiceMonitor port name", (objs) => {
    const sm = objs.find((o) => o.kind === "ServiceMonitor");
    if (!sm) return false;
    sm.spec.endpoints[0].port = "metric";
  }],
  ["TLS with native gRPC probes", (objs) => {
    if (!runnerContainer(objs).readinessProbe.grpc) return false;
    Object.assign(configMap(objs).data, { FN_NODE_CERT: "/etc/tls/tls.crt", FN_NODE_CERT_KEY: "/etc/tls/tls.key" });
  }],
  ["mTLS probe without a client certificate", (objs) => {
    const probe = runnerContainer(objs).readinessProbe;
    if (!probe.exec) return false;
    const cmd = probe.exec.command;
    cmd.splice(cmd.indexOf("--tls-cert"), 2);
    cmd.splice(cmd.indexOf("--tls-key"), 2);
  }],
  ["fn LB given a Service name", (objs) => setLbEnv(objs, "FN_RUNNER_ADDRESSES", "fn-runner.fn.svc:9190")],
  ["more runners than FN_RUNNER_ADDRESSES lists", (objs) => {
    const sts = objs.find((o) => o.kind === "StatefulSet");
    if (!sts) return false;
    sts.spec.replicas += 1;
  }],
  ["fn LB not labelled for the NetworkPolicy", (objs) => {
    const lb = lbWorkload(objs);
    if (!lb) return false;
    delete lb.spec.template.metadata.labels["fnproject.io/role"];
  }],
];

function renameKey(obj, from, to) {
  obj[to] = obj[from];
  delete obj[from];
}
function runnerWorkload(objs) {
  return objs.find((o) => podTemplate(o) && (podTemplate(o).spec.containers || []).some(isRunnerContainer));
}
function runnerContainer(objs) {
  return podTemplate(runnerWorkload(objs)).spec.containers.find(isRunnerContainer);
}
function configMap(objs) {
  return objs.find((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("fn-runner-config"));
}
function lbWorkload(objs) {
  return objs.find((o) => podTemplate(o) && podTemplate(o).spec.containers.some(
    (c) => (c.env || []).some((e) => e.name === "FN_NODE_TYPE" && e.value === "lb")));
}
function setLbEnv(objs, name, value) {
  const lb = lbWorkload(objs);
  if (!lb) return false;
  for (const c of lb.spec.template.spec.containers) for (const e of c.env || []) if (e.name === name) e.value = value;
}

// Returns the names of the mutations missed (applied somewhere but not caught) or never
// applicable.
function selfCheck(overlays, ctx) {
  const problems = [];
  for (const [what, mutate] of MUTATIONS) {
    let applied = 0;
    for (const { name, objects } of overlays) {
      const copy = JSON.parse(JSON.stringify(objects));
      if (mutate(copy) === false) continue;
      applied++;
      if (checkOverlay(name, copy, ctx).failures.length === 0) problems.push(`a broken ${name} (${what}) passed the checks`);
    }
    if (applied === 0) problems.push(`"${what}" applies to no overlay`);
  }
  return problems;
}

// ---------------------------------------------------------------- main

function main() {
  const known = readRunnerHelp(args.fnRunner);
  const ctx = { known, binary: args.fnRunner };
  let failed = 0;
  let objectCount = 0;
  const overlays = [];
  const notes = new Set();
  for (const { name, file } of args.inputs) {
    let objects;
    try {
      objects = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((o) => o !== null);
    } catch (e) {
      console.log(`FAIL ${name}: not YAML: ${e.message}`);
      failed++;
      continue;
    }
    overlays.push({ name, objects });
    objectCount += objects.length;
    const { failures, notes: overlayNotes } = checkOverlay(name, objects, ctx);
    for (const f of failures) console.log(`FAIL ${f}`);
    for (const n of overlayNotes) notes.add(`${name}: ${n}`);
    failed += failures.length;
    const kinds = objects.map((o) => o.kind).join(", ");
    console.log(`${failures.length ? "FAIL" : "ok  "} ${name}: ${objects.length} objects (${kinds})`);
  }
  if (overlays.length === args.inputs.length) {
    const problems = selfCheck(overlays, ctx);
    for (const p of problems) console.log(`FAIL self-check: ${p}`);
    failed += problems.length;
    if (problems.length === 0) console.log(`ok   self-check: ${MUTATIONS.length} kinds of breakage caught in every overlay they apply to`);
  }
  for (const n of notes) console.log(`note ${n} (not part of the manifests)`);
  console.log(`checked ${args.inputs.length} kustomizations, ${objectCount} objects ` +
    `(schemas: Kubernetes v1.33.0 via kubernetes-models 4.5.1, prometheus-operator v0.65.1; ` +
    `${known.size} FN_* variables from fn-runner --help): ${failed} failures`);
  process.exit(failed ? 1 : 0);
}

main();
