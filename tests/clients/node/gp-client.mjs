// Drives gpserver's sample services with request() from @esri/arcgis-rest-request and
// prints what it got as one JSON object; tests/clients/test_arcgis_rest_js.py checks it.
//
//   node gp-client.mjs http://127.0.0.1:6080/arcgis

import { ArcGISRequestError, request } from "@esri/arcgis-rest-request";

const POLL_MS = 100;
const JOB_TIMEOUT_MS = 30_000;
const FINISHED = new Set([
  "esriJobSucceeded",
  "esriJobFailed",
  "esriJobCancelled",
  "esriJobTimedOut",
]);

const root = process.argv[2];
if (!root) {
  console.error("usage: node gp-client.mjs http://127.0.0.1:6080/arcgis");
  process.exit(2);
}
const services = `${root}/rest/services/Samples`;

// Reads go out as GET and operations as POST (request()'s default), as a web app does.
const get = (url) => request(url, { httpMethod: "GET" });
const post = (url, params) => request(url, { params });

async function waitJob(seconds) {
  const task = `${services}/Diagnostics/GPServer/Wait`;
  const submitted = await post(`${task}/submitJob`, { seconds });
  const jobUrl = `${task}/jobs/${submitted.jobId}`;

  const deadline = Date.now() + JOB_TIMEOUT_MS;
  let job = await get(jobUrl);
  while (!FINISHED.has(job.jobStatus)) {
    if (Date.now() > deadline) {
      throw new Error(`job ${submitted.jobId} still ${job.jobStatus}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = await get(jobUrl);
  }

  return {
    submitted: submitted.jobStatus,
    finished: job.jobStatus,
    results: job.results,
    waited: await get(`${jobUrl}/results/waited`),
  };
}

async function echo(params) {
  const answer = await post(`${services}/DiagnosticsSync/GPServer/Echo/execute`, params);
  const values = Object.fromEntries(answer.results.map((r) => [r.paramName, r.value]));
  return { out_string: values.out_string, out_multi_string: values.out_multi_string };
}

// The error request() throws for an ArcGIS error answer, as plain data.
async function failure(promise) {
  try {
    await promise;
  } catch (error) {
    return {
      name: error.name,
      isArcGISRequestError: error instanceof ArcGISRequestError,
      code: error.code,
      message: error.message,
      originalMessage: error.originalMessage,
    };
  }
  return null;
}

const diagnostics = `${services}/Diagnostics/GPServer`;
const service = await get(diagnostics);
const report = {
  service: { tasks: service.tasks, executionType: service.executionType },
  wait: await waitJob(1),
  // request() joins an array of strings with commas, so a value with a comma in it
  // only survives as a JSON array the caller encodes itself.
  echoJoined: await echo({ in_string: "héllo, world", in_multi_string: ["a", "b", "c"] }),
  echoJson: await echo({ in_string: "", in_multi_string: JSON.stringify(["a,b", "c"]) }),
  unknownTask: await failure(post(`${diagnostics}/NoSuchTask/submitJob`)),
};
console.log(JSON.stringify(report));
