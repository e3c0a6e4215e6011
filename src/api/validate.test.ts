/** Request-body validation: Go's decoder texts (as dockerd 20.10 answered each body), keys, nulls, depth. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BerthError } from '../lib/errors.js';
import { buildOptionsFromQuery } from './build.js';
import { BODY_OF_ROUTE, parseJSONValue, validateBody, type BodyName } from './validate.js';

const refused = async (name: BodyName, text: string): Promise<string> => {
  try {
    await validateBody(name, parseJSONValue(text));
  } catch (err) {
    assert.ok(err instanceof BerthError && err.category === 'InvalidParameter', String(err));
    return err.message;
  }
  assert.fail(`accepted: ${text}`);
};

describe('request bodies against the Engine API schema', () => {
  it('answers wrong kinds with dockerd 20.10 texts', async () => {
    // [body, the text dockerd 20.10 answered with for the same request]
    const cases: Array<[BodyName, string, string]> = [
      [
        'ContainerCreate',
        '{"HostConfig":{"Privileged":"false"}}',
        'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Privileged of type bool',
      ],
      [
        'ContainerCreate',
        '{"HostConfig":{"Privileged":[]}}',
        'json: cannot unmarshal array into Go struct field HostConfig.HostConfig.Privileged of type bool',
      ],
      ['ContainerCreate', '{"Image":1}', 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image of type string'],
      [
        'ContainerCreate',
        '{"HostConfig":[]}',
        'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig',
      ],
      ['ContainerCreate', '{"Labels":{"a":{"b":1}}}', 'json: cannot unmarshal object into Go struct field ContainerConfigWrapper.Labels of type string'],
      ['ContainerCreate', '{"HostConfig":{"Memory":1.5}}', 'json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.Memory of type int64'],
      [
        'ContainerCreate',
        '{"HostConfig":{"DnsOptions":"a"}}',
        'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.DnsOptions of type []string',
      ],
      ['ContainerCreate', '{"WorkingDir":5}', 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.WorkingDir of type string'],
      ['ContainerCreate', '{"Cmd":5}', 'json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd of type string'],
      ['ContainerCreate', '{"Cmd":[1]}', 'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Cmd of type string'],
      ['ContainerCreate', '{"ExposedPorts":[1]}', 'json: cannot unmarshal array into Go struct field ContainerConfigWrapper.ExposedPorts of type nat.PortSet'],
      ['ContainerCreate', '{"Volumes":{"/a":"x"}}', 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Volumes of type struct {}'],
      [
        'ContainerCreate',
        '{"HostConfig":{"RestartPolicy":{"MaximumRetryCount":"a"}}}',
        'json: cannot unmarshal string into Go struct field RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount of type int',
      ],
      [
        'ContainerCreate',
        '{"HostConfig":{"Mounts":[{"Type":1}]}}',
        'json: cannot unmarshal number into Go struct field Mount.HostConfig.Mounts.Type of type mount.Type',
      ],
      [
        'ContainerCreate',
        '{"NetworkingConfig":{"EndpointsConfig":{"x":{"Aliases":"a"}}}}',
        'json: cannot unmarshal string into Go struct field EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string',
      ],
      [
        'ContainerCreate',
        '{"Healthcheck":{"Interval":"1s"}}',
        'json: cannot unmarshal string into Go struct field HealthConfig.Healthcheck.Interval of type time.Duration',
      ],
      [
        'ContainerCreate',
        '{"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":80}]}}}',
        'json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostPort of type string',
      ],
      [
        'ContainerCreate',
        '{"HostConfig":{"ConsoleSize":[1,-1]}}',
        'json: cannot unmarshal number -1 into Go struct field HostConfig.HostConfig.ConsoleSize of type uint',
      ],
      [
        'ContainerCreate',
        '{"HostConfig":{"Ulimits":[{"Soft":"a"}]}}',
        'json: cannot unmarshal string into Go struct field Ulimit.HostConfig.Ulimits.Soft of type int64',
      ],
      [
        'ContainerCreate',
        '{"HostConfig":{"BlkioWeight":65536}}',
        'json: cannot unmarshal number 65536 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16',
      ],
      ['ContainerCreate', '[1]', 'json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper'],
      ['ContainerUpdate', '{"Memory":"x"}', 'json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64'],
      ['ContainerUpdate', '{"RestartPolicy":{"Name":1}}', 'json: cannot unmarshal number into Go struct field RestartPolicy.RestartPolicy.Name of type string'],
      ['ExecCreate', '{"Cmd":"ls","Tty":"x"}', 'json: cannot unmarshal string into Go struct field ExecConfig.Cmd of type []string'],
      ['ExecStart', '{"Detach":"x"}', 'json: cannot unmarshal string into Go struct field ExecStartCheck.Detach of type bool'],
      [
        'NetworkCreate',
        '{"Name":"n","IPAM":{"Config":[{"Subnet":1}]}}',
        'json: cannot unmarshal number into Go struct field IPAMConfig.IPAM.Config.Subnet of type string',
      ],
      ['NetworkCreate', '{"Options":{"a":1}}', 'json: cannot unmarshal number into Go struct field NetworkCreateRequest.Options of type string'],
      [
        'NetworkConnect',
        '{"Container":"a","EndpointConfig":{"IPAMConfig":{"IPv4Address":1}}}',
        'json: cannot unmarshal number into Go struct field EndpointIPAMConfig.EndpointConfig.IPAMConfig.IPv4Address of type string',
      ],
      ['NetworkDisconnect', '{"Force":"x"}', 'json: cannot unmarshal string into Go struct field NetworkDisconnect.Force of type bool'],
      ['VolumeCreate', '{"Labels":{"a":1}}', 'json: cannot unmarshal number into Go struct field VolumeCreateBody.Labels of type string'],
      ['VolumeCreate', '[]', 'json: cannot unmarshal array into Go value of type volume.VolumeCreateBody'],
      ['Commit', '{"Env":"x"}', 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Env of type []string'],
      ['Auth', '{"username":1}', 'json: cannot unmarshal number into Go struct field AuthConfig.username of type string'],
      // keys match case-insensitively, as Go's decoder matches them
      [
        'ContainerCreate',
        '{"image":"busybox","hostconfig":{"privileged":"x"}}',
        'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Privileged of type bool',
      ],
    ];
    for (const [name, body, want] of cases) assert.equal(await refused(name, body), want, body);
  });

  it('answers syntax errors with Go texts and ignores what follows the first value', () => {
    const syntax = (t: string): string => {
      try {
        parseJSONValue(t);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    assert.equal(syntax('{"Image":"busybox",'), 'unexpected EOF');
    assert.equal(syntax('{"Image":"busybox",}'), "invalid character '}' looking for beginning of object key string");
    assert.equal(syntax('{"Image":"busybox" "x"}'), `invalid character '"' after object key:value pair`);
    assert.equal(syntax('[1 2]'), "invalid character '2' after array element");
    // more of dockerd 20.10's answers, byte for byte
    const go: Array<[string, string]> = [
      ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
      ['{"a":fals}', "invalid character '}' in literal false (expecting 'e')"],
      ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
      ['{"a":-}', "invalid character '}' in numeric literal"],
      ['{"a":1e+}', "invalid character '}' in exponent of numeric literal"],
      ['{"a" 1}', "invalid character '1' after object key"],
      ['{"a":"\\q"}', "invalid character 'q' in string escape code"],
      ['{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"],
      ['{"a":"b\u0001c"}', "invalid character '\\x01' in string literal"],
      ['{"a":01}', "invalid character '1' after object key:value pair"],
      ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
      ['[1,]', "invalid character ']' looking for beginning of value"],
      ['{"a":"x"]', "invalid character ']' after object key:value pair"],
      ['{"a":\u007f}', "invalid character '\\x7f' looking for beginning of value"],
      ['{"a":nul', 'unexpected EOF'],
      ['x', "invalid character 'x' looking for beginning of value"],
    ];
    for (const [text, want] of go) assert.equal(syntax(text), want, text);
    assert.deepEqual(parseJSONValue('{"Image":"busybox"}{"x":1}'), { Image: 'busybox' });
    const deep = `{"Labels":${'['.repeat(10_001)}${']'.repeat(10_001)}}`;
    assert.equal(syntax(deep), 'exceeded max depth');
    const ok = `{"X":${'['.repeat(9_000)}${']'.repeat(9_000)}}`;
    assert.equal(typeof parseJSONValue(ok), 'object');
  });

  it('keeps what dockerd keeps: canonical keys, no unknown fields, null as the zero value', async () => {
    const v = await validateBody(
      'ContainerCreate',
      parseJSONValue(
        '{"image":"busybox","Bogus":{"deep":[1]},"Cmd":null,"Env":[null,"A=1"],"Labels":{"a":null},"HostConfig":{"Mounts":[null],"memory":6291456},"Entrypoint":"sh"}',
      ),
    );
    assert.deepEqual(v, { Image: 'busybox', Env: ['', 'A=1'], Labels: { a: '' }, HostConfig: { Mounts: [{}], Memory: 6291456 }, Entrypoint: 'sh' });
    assert.deepEqual(await validateBody('ContainerCreate', null), {});
    // 2^63 − 1 (a double: 2^63) is in int64's range as dockerd reads it; docker-py's null fields pass
    assert.deepEqual(await validateBody('ContainerUpdate', parseJSONValue('{"Memory":9223372036854775807,"CpuShares":null}')), { Memory: 9223372036854775807 });
    assert.deepEqual(await validateBody('PluginSet', parseJSONValue('["A=1"]')), ['A=1']);
  });

  it("build's JSON query parameters answer as dockerd 20.10 does", () => {
    const msg = (query: string): string => {
      try {
        buildOptionsFromQuery(new URLSearchParams(query), {});
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    assert.equal(msg('buildargs=%7B%22a%22%3A1%7D'), 'error reading build args: json: cannot unmarshal number into Go value of type string');
    assert.equal(msg('buildargs=x'), "error reading build args: invalid character 'x' looking for beginning of value");
    assert.equal(msg('labels=%7B%22a%22%3A1%7D'), 'error reading labels: json: cannot unmarshal number into Go value of type string');
    assert.equal(msg('cachefrom=%7B%7D'), 'json: cannot unmarshal object into Go value of type []string');
    assert.equal(msg('labels=null&buildargs=%7B%22a%22%3Anull%7D'), 'accepted');
    assert.deepEqual(buildOptionsFromQuery(new URLSearchParams('buildargs=%7B%22a%22%3Anull%7D'), {}).buildArgs, { a: null });
  });

  it('names a schema for each body route, and the schema names the same route', () => {
    const file = new URL('./schema/engine-api.json', import.meta.url);
    const { bodies } = JSON.parse(readFileSync(file, 'utf8')) as { bodies: Record<string, { 'x-route': string }> };
    for (const [route, name] of Object.entries(BODY_OF_ROUTE)) {
      assert.ok(bodies[name], `${route}: ${name}`);
      // the spec's {name} is the router's {name*} (plugin names hold '/')
      assert.equal(bodies[name]?.['x-route'], route.replace('{name*}', '{name}').replace('/plugins/{name}/upgrade', '/plugins/pull'));
    }
  });
});
