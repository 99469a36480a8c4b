/// <reference lib="dom" />
/* eslint-disable @typescript-eslint/no-explicit-any -- the page reads the console's own JSON */

/**
 * The page's script. It runs in the browser, serialised with Function.prototype.toString, so it
 * must use nothing from outside its own body (no imports, no module constants).
 */
export function consoleClient(): void {
  const $ = (selector: string) => document.querySelector(selector) as HTMLElement;
  const esc = (value: unknown) =>
    String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
  const state: { topology?: any; services: any[]; lag: any[]; deadLetters: any[]; open: Set<string>; openSagas: Set<string>; sagaDetails: Map<string, any> } = {
    services: [],
    lag: [],
    deadLetters: [],
    open: new Set(),
    openSagas: new Set(),
    sagaDetails: new Map(),
  };
  const tokenInput = $('#token') as HTMLInputElement;
  tokenInput.value = sessionStorage.getItem('console-token') ?? '';
  tokenInput.addEventListener('change', () => sessionStorage.setItem('console-token', tokenInput.value.trim()));

  const getJson = async (path: string) => {
    const response = await fetch(path);
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  };

  function toast(text: string, kind: 'ok' | 'error') {
    const box = $('#toast');
    box.textContent = text;
    box.className = `toast ${kind}`;
    setTimeout(() => (box.className = 'toast'), 4000);
  }

  async function write(path: string, body: unknown) {
    const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenInput.value.trim()}` }, body: JSON.stringify(body) });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 401 || response.status === 403) throw new Error(`${response.status}: ${answer.message ?? 'the operator token is needed'}`);
    if (!response.ok) throw new Error(`${response.status}: ${answer.message ?? response.statusText}`);
    return answer;
  }

  const short = (topic: string) => (state.topology?.namespace ? topic.slice(state.topology.namespace.length + 1) : topic);
  const lagOf = (group: string) => state.lag.find((l) => l.group === group);
  const lettersOf = (service: string, useCase: string) => state.deadLetters.find((d) => d.service === service && d.useCase === useCase);
  const statusOf = (name: string) => state.services.find((s) => s.name === name);
  const seconds = (s: number | undefined) => (s === undefined ? '?' : s < 1 ? `${Math.round(s * 1000)} ms` : s < 120 ? `${s.toFixed(1)} s` : `${Math.round(s / 60)} min`);

  /** The topology as a three-column diagram: services, the topics they publish, the use cases that consume them. */
  function drawTopology() {
    const t = state.topology;
    if (!t) return;
    const rowH = 34;
    const useCases: any[] = t.services.flatMap((s: any) => s.useCases);
    // Each service is a block as tall as its topics (at least two rows), the blocks stacked.
    const topicY = new Map<string, number>();
    const blocks: { service: any; top: number; height: number }[] = [];
    let cursor = 36;
    for (const s of t.services) {
      const n = s.publishes.length;
      const height = Math.max(64, n * rowH + 6);
      const first = cursor + (height - (n - 1) * rowH) / 2;
      s.publishes.forEach((p: any, i: number) => topicY.set(p.topic, first + i * rowH));
      blocks.push({ service: s, top: cursor, height });
      cursor += height + 12;
    }
    const topics: string[] = [...topicY.keys()];
    const height = cursor + 10;
    const serviceNodes: string[] = [];
    const edges: string[] = [];
    for (const { service: s, top, height: h } of blocks) {
      const ys = s.publishes.map((p: any) => topicY.get(p.topic) as number);
      const st = statusOf(s.name);
      const health = st?.health ?? 'unknown';
      const outbox = st?.outbox ? `outbox ${st.outbox.rows}` : '';
      serviceNodes.push(
        `<g class="node service ${esc(health)}" data-testid="service-${esc(s.name)}"><rect x="20" y="${top}" width="190" height="${h}" rx="12"/>` +
          `<circle cx="40" cy="${top + 22}" r="6" class="dot"/><text x="54" y="${top + 27}" class="title">${esc(s.name)}</text>` +
          `<text x="40" y="${top + 48}" class="sub">${esc(health)}${outbox ? ' · ' + esc(outbox) : ''}</text></g>`,
      );
      for (const y of ys) edges.push(`<path class="edge publish" d="M210 ${y} C 260 ${y}, 260 ${y}, 300 ${y}"/>`);
    }
    const topicNodes = topics.map((topic) => {
      const y = topicY.get(topic) as number;
      const domain = short(topic).split('.')[0];
      return `<g class="node topic d-${esc(domain)}" data-testid="topic-${esc(short(topic))}"><rect x="300" y="${y - 13}" width="290" height="26" rx="13"/><text x="316" y="${y + 5}">${esc(short(topic))}</text></g>`;
    });
    const ucGap = useCases.length > 0 ? Math.max(rowH * 1.6, (height - 60) / useCases.length) : rowH;
    const useCaseNodes = useCases.map((u, i) => {
      const y = 40 + i * ucGap + 10;
      for (const topic of u.topics) {
        const ty = topicY.get(topic);
        if (ty !== undefined) edges.push(`<path class="edge consume" d="M590 ${ty} C 640 ${ty}, 640 ${y}, 680 ${y}"/>`);
      }
      const lag = lagOf(u.group);
      const dlq = lettersOf(u.service, u.name);
      const lagText = lag ? `lag ${lag.messages}` : 'lag ?';
      const badge = dlq && dlq.waiting > 0 ? `<g class="badge"><rect x="884" y="${y - 25}" width="54" height="18" rx="9"/><text x="911" y="${y - 12}">DLQ ${dlq.waiting}</text></g>` : '';
      return (
        `<g class="node usecase ${lag && lag.messages > 0 ? 'lagging' : ''}" data-testid="usecase-${esc(u.service)}-${esc(u.name)}"><rect x="680" y="${y - 20}" width="250" height="42" rx="10"/>` +
        `<text x="694" y="${y - 2}" class="title">${esc(u.name)}</text><text x="694" y="${y + 14}" class="sub">${esc(u.service)} · ${esc(u.kind)} · ${esc(lagText)}</text>${badge}</g>`
      );
    });
    $('#diagram').innerHTML =
      `<svg viewBox="0 0 960 ${height}" role="img" aria-label="topology"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z"/></marker></defs>` +
      `<text x="20" y="18" class="col">services</text><text x="300" y="18" class="col">topics · via the outbox</text><text x="680" y="18" class="col">use cases · a group each</text>` +
      edges.join('') + serviceNodes.join('') + topicNodes.join('') + useCaseNodes.join('') + '</svg>';
  }

  function drawLag() {
    $('#lag').innerHTML = state.lag
      .map((g) => {
        const max = Math.max(1, ...g.partitions.map((p: any) => p.messages));
        const bars = g.partitions
          .map((p: any) => `<span class="bar" title="${esc(short(p.topic))}[${p.partition}]: ${p.messages}" style="height:${4 + Math.round((p.messages / max) * 28)}px" data-level="${p.messages > 0 ? 'lag' : 'ok'}"></span>`)
          .join('');
        return (
          `<div class="lag-row" data-testid="lag-${esc(g.group)}" data-lag="${g.messages}"><div><b>${esc(g.service)}.${esc(g.useCase)}</b><small>${esc(g.state)}</small></div>` +
          `<div class="bars">${bars}</div><div class="figure ${g.messages > 0 ? 'warn' : ''}"><span class="lag-value">${g.messages}</span> msg<small>${g.messages > 0 ? 'oldest ' + seconds(g.seconds) : 'caught up'}</small></div></div>`
        );
      })
      .join('');
  }

  function drawServices() {
    $('#outbox').innerHTML = state.services
      .map(
        (s) =>
          `<div class="svc" data-testid="outbox-${esc(s.name)}"><span class="dot ${esc(s.health)}"></span><b>${esc(s.name)}</b><span class="health">${esc(s.health)}</span>` +
          `<span class="figure">${s.outbox ? `${s.outbox.rows} waiting<small>${s.outbox.rows > 0 ? 'oldest ' + seconds(s.outbox.oldestSeconds) : 'empty'}</small>` : '<small>no metrics</small>'}</span>` +
          `<span class="sent">${s.relay ? `${s.relay.sent} sent · ${s.relay.failures} failed rounds` : ''}</span></div>`,
      )
      .join('');
  }

  function drawDeadLetters() {
    const withLetters = state.deadLetters.filter((d) => d.total > 0);
    $('#dlq-summary').textContent = withLetters.length === 0 ? 'every dead-letter topic is empty' : `${withLetters.reduce((n, d) => n + d.waiting, 0)} waiting for redrive`;
    $('#dead-letters').innerHTML = withLetters
      .map(
        (d) =>
          `<section class="dlq" data-testid="dlq-${esc(d.service)}-${esc(d.useCase)}"><header><h3>${esc(d.service)} / ${esc(d.useCase)}</h3><code>${esc(short(d.topic))}</code>` +
          `<span>${d.waiting} waiting · ${d.total - d.waiting} redriven</span><button data-action="redrive-all" data-service="${esc(d.service)}" data-usecase="${esc(d.useCase)}" ${d.waiting === 0 ? 'disabled' : ''}>Redrive all</button></header>` +
          d.failures
            .map((f: any) => {
              const waiting = f.letters.filter((l: any) => !l.redriven).length;
              return (
                `<div class="failure" data-testid="failure" data-failure="${esc(f.id)}"><div class="failure-head"><span class="err">${esc(f.errorName)}</span><code>${esc(f.frame ?? '(no frame of our code)')}</code>` +
                `<span class="reasons">${f.reasons.map((r: string) => `<i>${esc(r)}</i>`).join('')}</span><span>${f.letters.length} letter${f.letters.length === 1 ? '' : 's'}</span>` +
                `<button data-action="redrive-failure" data-service="${esc(d.service)}" data-usecase="${esc(d.useCase)}" data-failure="${esc(f.id)}" ${waiting === 0 ? 'disabled' : ''}>Redrive group</button></div>` +
                f.letters
                  .map((l: any) => {
                    const id = `${d.service}/${d.useCase}/${l.partition}/${l.offset}`;
                    const headers = Object.entries(l.headers).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
                    return (
                      `<details class="letter ${l.redriven ? 'redriven' : ''}" data-testid="letter" data-event-id="${esc(l.eventId)}" data-offset="${esc(l.offset)}" data-id="${esc(id)}" ${state.open.has(id) ? 'open' : ''}>` +
                      `<summary><span class="reason">${esc(l.reason)}</span><span class="msg">${esc(l.errorMessage)}</span><span class="meta">#${esc(l.offset)} · ${esc(l.type)} · ${esc(l.attempts)} attempt(s) · ${esc(l.failedAt)}</span>` +
                      (l.redriven ? '<span class="done">redriven</span>' : `<button data-action="redrive-one" data-service="${esc(d.service)}" data-usecase="${esc(d.useCase)}" data-offset="${esc(l.offset)}" data-partition="${l.partition}">Redrive</button>`) +
                      `</summary><div class="letter-body"><p>from <code>${esc(l.original)}</code> · key <code>${esc(l.key)}</code> · correlation <a href="#" data-action="trail" data-id="${esc(l.correlationId)}">${esc(l.correlationId)}</a></p>` +
                      `<pre>${esc(l.payload)}</pre><table>${headers}</table></div></details>`
                    );
                  })
                  .join('') +
                '</div>'
              );
            })
            .join('') +
          '</section>',
      )
      .join('');
    for (const details of Array.from(document.querySelectorAll('details.letter'))) {
      details.addEventListener('toggle', () => {
        const id = (details as HTMLElement).dataset['id'] as string;
        if ((details as HTMLDetailsElement).open) state.open.add(id);
        else state.open.delete(id);
      });
    }
  }

  async function showTrail(correlationId: string) {
    ($('#correlation') as HTMLInputElement).value = correlationId;
    $('#trail').innerHTML = '<p class="muted">searching…</p>';
    try {
      const trail = await getJson(`/api/trail?correlationId=${encodeURIComponent(correlationId)}`);
      if (trail.events.length === 0 && trail.deadLetters.length === 0) {
        $('#trail').innerHTML = `<p class="muted">nothing with correlation id ${esc(correlationId)} in the last ${trail.scanned.depthPerPartition} messages of each partition of ${trail.scanned.topics} topics</p>`;
        return;
      }
      $('#trail').innerHTML =
        '<ol class="trail">' +
        trail.events
          .map(
            (e: any) =>
              `<li data-testid="trail-event"><div class="when">${esc(e.time)}</div><div><b>${esc(e.type)}</b> <span class="muted">published by ${esc(e.publishedBy)} through its outbox → <code>${esc(short(e.topic))}[${e.partition}]@${esc(e.offset)}</code></span>` +
              `<div class="steps">${e.consumers.map((c: any) => `<span class="step ${esc(c.status)}">${esc(c.service)}.${esc(c.useCase)}: ${esc(c.status)}</span>`).join('') || '<span class="muted">no use case consumes it</span>'}</div></div></li>`,
          )
          .join('') +
        trail.deadLetters.map((l: any) => `<li><div class="when">dead letter</div><div><code>${esc(short(l.topic))}@${esc(l.offset)}</code> ${esc(l.reason)}: ${esc(l.error)}</div></li>`).join('') +
        '</ol>';
    } catch (error) {
      $('#trail').innerHTML = `<p class="error">${esc((error as Error).message)}</p>`;
    }
  }

  async function drawProjections() {
    const projections = await getJson('/api/projections');
    $('#projections').innerHTML =
      projections.length === 0
        ? '<p class="muted">no service exposes projections</p>'
        : '<table><tr><th>service</th><th>projection</th><th>status</th><th>checkpoint</th><th>updated</th><th></th></tr>' +
          projections
            .map(
              (p: any) =>
                `<tr data-testid="projection-${esc(p.name)}"><td>${esc(p.service)}</td><td><b>${esc(p.name)}</b></td><td><span class="pill ${esc(p.status)}">${esc(p.status)}</span>${p.failure ? `<small>${esc(JSON.stringify(p.failure))}</small>` : ''}</td>` +
                `<td><code>${esc(JSON.stringify(p.position))}</code></td><td>${esc(p.updatedAt)}</td><td><button data-action="rebuild" data-service="${esc(p.service)}" data-name="${esc(p.name)}">Rebuild</button></td></tr>`,
            )
            .join('') +
          '</table>';
  }

  /** The time of day of an ISO time, to the millisecond: the steps of one instance are seconds apart. */
  const clock = (iso: string | null | undefined) => (iso ? `<span title="${esc(iso)}">${esc(String(iso).slice(11, 23))}</span>` : '<span class="muted">·</span>');
  const inputLabel = (input: any) =>
    (input.kind === 'timeout' ? `timeout ${input.name}` : String(input.type ?? input.kind)) + (input.ignored ? ` (ignored: instance ${input.ignored})` : '');
  const decisionLabel = (d: any) => {
    const parts: string[] = [];
    if (d.send?.length) parts.push(`send ${d.send.join(', ')}`);
    if (d.schedule?.length) parts.push(`schedule ${d.schedule.map((t: any) => `${t.name} (${seconds(t.afterMs / 1000)})`).join(', ')}`);
    if (d.cancel?.length) parts.push(`cancel ${d.cancel.join(', ')}`);
    if (d.end) parts.push(`end ${d.end}`);
    if (d.dropped !== undefined) parts.push(`dropped ${d.dropped} early message(s)`);
    return parts.join(' · ') || 'nothing';
  };

  /** One instance's steps (a compensating process's), its history of inputs and decisions, its pending timeouts. */
  function sagaDetail(v: any) {
    const reason = v.state?.reason ? `<p>compensated because: <span class="reason">${esc(v.state.reason)}</span></p>` : '';
    const steps =
      v.steps.length === 0
        ? `<pre>${esc(JSON.stringify(v.state, null, 2))}</pre>`
        : '<table class="saga-steps"><tr><th>step</th><th>status</th><th>sent</th><th>answered</th><th>timed out</th><th>compensation</th></tr>' +
          v.steps
            .map((st: any) => {
              const c = st.compensation;
              const compensation = c
                ? `<span class="pill comp-${esc(c.status)}">${esc(c.status)}</span> <small>round ${esc(c.rounds)} · attempt ${esc(c.attempts)} · sent ${clock(c.sentAt)}${c.acknowledgedAt ? ` · acknowledged ${clock(c.acknowledgedAt)}` : ''}</small>`
                : '<span class="muted">none</span>';
              return (
                `<tr data-testid="saga-step" data-step="${esc(st.name)}" data-status="${esc(st.status)}"><td><b>${esc(st.name)}</b>${st.late ? ' <i class="late">late</i>' : ''}</td>` +
                `<td><span class="pill st-${esc(st.status)}">${esc(st.status)}</span>${st.reason ? `<small>${esc(st.reason)}</small>` : ''}</td>` +
                `<td>${clock(st.sentAt)}</td><td>${clock(st.answeredAt)}</td><td>${clock(st.timedOutAt)}</td><td>${compensation}</td></tr>`
              );
            })
            .join('') +
          '</table>';
    const history =
      '<ol class="history">' +
      v.history.map((h: any) => `<li data-testid="saga-history"><span class="when">#${esc(h.version)} ${clock(h.at)}</span> <b>${esc(inputLabel(h.input))}</b> <span class="muted">→ ${esc(decisionLabel(h.decision))}</span></li>`).join('') +
      '</ol>';
    const timeouts = v.pendingTimeouts.length
      ? `<h4>Pending timeouts</h4><ul>${v.pendingTimeouts.map((t: any) => `<li><code>${esc(t.name)}</code> due ${clock(t.dueAt)}${t.attempts ? ` · ${esc(t.attempts)} failed attempt(s)` : ''}</li>`).join('')}</ul>`
      : '';
    return `${reason}<h4>Steps</h4>${steps}<h4>History</h4>${history}${timeouts}`;
  }

  async function loadSagaDetail(details: HTMLElement) {
    const d = details.dataset;
    const id = d['id'] as string;
    try {
      const view = await getJson(`/api/sagas/${d['service']}/${d['name']}/instances/${encodeURIComponent(d['key'] as string)}`);
      state.sagaDetails.set(id, view);
      const body = details.querySelector('.saga-detail') as HTMLElement | null;
      if (body) body.innerHTML = sagaDetail(view);
      details.dataset['loaded'] = 'true';
    } catch (error) {
      const body = details.querySelector('.saga-detail') as HTMLElement | null;
      if (body) body.innerHTML = `<p class="error">${esc((error as Error).message)}</p>`;
    }
  }

  async function drawSagas() {
    const filter = ($('#saga-state') as HTMLSelectElement).value;
    const sagas = await getJson(`/api/sagas${filter ? `?state=${filter}` : ''}`);
    const box = $('#sagas');
    if (sagas.length === 0) {
      box.innerHTML = '<p class="muted">no service runs a saga</p>';
      return;
    }
    box.innerHTML = sagas
      .map(
        (saga: any) =>
          `<section class="saga" data-testid="saga-${esc(saga.service)}-${esc(saga.name)}"><header><h3>${esc(saga.service)} / ${esc(saga.name)}</h3><code>${esc(short(saga.groupId))}</code>` +
          `<span class="muted">${saga.instances.length} instance${saga.instances.length === 1 ? '' : 's'}${filter ? ` ${esc(filter)}` : ''}, latest updated first</span></header>` +
          (saga.error ? `<p class="error">${esc(saga.error)}</p>` : '') +
          (saga.instances.length === 0 ? '<p class="muted">none</p>' : '') +
          saga.instances
            .map((i: any) => {
              const id = `${saga.service}/${saga.name}/${i.key}`;
              const cached = state.sagaDetails.get(id);
              return (
                `<details class="saga-instance" data-testid="saga-instance" data-key="${esc(i.key)}" data-status="${esc(i.status)}" data-id="${esc(id)}" data-service="${esc(saga.service)}" data-name="${esc(saga.name)}" ${state.openSagas.has(id) ? 'open' : ''}>` +
                `<summary><code title="${esc(i.key)}">${esc(String(i.key).slice(0, 8))}</code><span class="pill saga-${esc(i.status)}">${esc(i.status)}</span>` +
                `<span class="phase">${i.phase && i.phase !== i.status ? esc(i.phase) : ''}</span><span class="current">${i.currentStep ? `at <b>${esc(i.currentStep)}</b>` : ''}</span>` +
                `<span class="meta">started ${clock(i.createdAt)} · updated ${clock(i.updatedAt)} · ${esc(i.version)} input(s)</span>` +
                (i.correlationId ? `<a href="#" class="meta" data-action="trail" data-id="${esc(i.correlationId)}">trail</a>` : '') +
                `</summary><div class="saga-detail">${cached ? sagaDetail(cached) : '<p class="muted">loading…</p>'}</div></details>`
              );
            })
            .join('') +
          '</section>',
      )
      .join('');
    for (const details of Array.from(box.querySelectorAll('details.saga-instance')) as HTMLElement[]) {
      const id = details.dataset['id'] as string;
      details.addEventListener('toggle', () => {
        if ((details as HTMLDetailsElement).open) {
          state.openSagas.add(id);
          void loadSagaDetail(details);
        } else state.openSagas.delete(id);
      });
      // Open ones follow the instance as it moves on.
      if (state.openSagas.has(id)) void loadSagaDetail(details);
    }
  }

  document.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest('[data-action]') as HTMLElement | null;
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const d = button.dataset;
    try {
      if (d['action'] === 'trail') return void showTrail(d['id'] as string);
      if (d['action'] === 'rebuild') {
        button.setAttribute('disabled', '');
        const progress = await write(`/api/projections/${d['service']}/${d['name']}/rebuild`, {});
        toast(`${d['name']} rebuilt: ${progress.processed} events`, 'ok');
        await drawProjections();
        return;
      }
      const body = d['action'] === 'redrive-one' ? { scope: 'one', offset: d['offset'], partition: Number(d['partition']) } : d['action'] === 'redrive-failure' ? { scope: 'failure', failure: d['failure'] } : { scope: 'all' };
      button.setAttribute('disabled', '');
      const { redriven } = await write(`/api/dead-letters/${d['service']}/${d['usecase']}/redrive`, body);
      toast(`${redriven} dead letter${redriven === 1 ? '' : 's'} redriven to ${d['service']}.${d['usecase']}`, 'ok');
      await refreshDeadLetters();
    } catch (error) {
      button.removeAttribute('disabled');
      toast((error as Error).message, 'error');
    }
  });
  $('#saga-state').addEventListener('change', () => void drawSagas().catch(() => undefined));
  $('#search').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = ($('#correlation') as HTMLInputElement).value.trim();
    if (id) void showTrail(id);
  });

  async function refreshDeadLetters() {
    state.deadLetters = await getJson('/api/dead-letters');
    drawDeadLetters();
    drawTopology();
  }

  async function refresh() {
    try {
      const [services, lag] = await Promise.all([getJson('/api/services'), getJson('/api/lag')]);
      state.services = services;
      state.lag = lag;
      drawServices();
      drawLag();
      drawTopology();
      $('#kafka').className = 'chip up';
      $('#kafka').textContent = 'Kafka answers';
      $('#updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      $('#kafka').className = 'chip down';
      $('#kafka').textContent = `Kafka: ${(error as Error).message}`;
    }
  }

  async function start() {
    state.topology = await getJson('/api/topology');
    $('#namespace').textContent = state.topology.namespace || '(no namespace)';
    drawTopology();
    await Promise.all([refresh(), refreshDeadLetters().catch(() => undefined), drawProjections().catch(() => undefined), drawSagas().catch(() => undefined)]);
    document.body.dataset['ready'] = 'true';
    setInterval(refresh, 2000);
    setInterval(() => void refreshDeadLetters().catch(() => undefined), 3000);
    setInterval(() => void drawProjections().catch(() => undefined), 10000);
    setInterval(() => void drawSagas().catch(() => undefined), 3000);
  }
  void start();
}
