// Every gateway a test starts (directly or as a child process, which inherits this environment)
// takes any free port for its admin API unless the test names one: tests run side by side and
// must never meet on the default port 9690 (or reach a gateway someone runs on this machine).
'use strict';
if (process.env.MSGIN5G_ADMIN_PORT === undefined) process.env.MSGIN5G_ADMIN_PORT = '0';
