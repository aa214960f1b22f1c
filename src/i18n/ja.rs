//! The Japanese of the command line's help texts: (English as written in
//! the doc comment, Japanese). Checked by `i18n::tests`: every help text
//! must be here, and nothing here that no help text reads.

pub(super) const TABLE: &[(&str, &str)] = &[
    // yukari
    (
        "Yukari: an EC2/EBS/S3-compatible private cloud on an event log",
        "Yukari(ユーカリ): イベントログの上に築いた EC2/EBS/S3 互換のプライベートクラウド",
    ),
    ("Log format on standard error", "標準エラー出力のログ形式"),
    // yukari up
    (
        "Run the whole cloud on this machine: controller, one cluster, one node",
        "このマシンでクラウド全体を動かします: コントローラー、クラスター 1 つ、ノード 1 つ",
    ),
    (
        "Where the cloud keeps its event log, keys and credentials",
        "クラウドがイベントログ、鍵、認証情報を置くディレクトリ",
    ),
    (
        "Port of the EC2 Query API (and of S3 under /services/objectstorage)",
        "EC2 Query API のポート(/services/objectstorage で S3 も)",
    ),
    (
        "Port of Walrus, the S3 API: path style, and virtual-hosted buckets (BUCKET.HOST) under localhost and \
         --public-host",
        "Walrus(S3 API)のポート: パス形式と、localhost および --public-host の下の仮想ホスト形式のバケット(BUCKET.HOST)",
    ),
    (
        "Port of the web console (HTTPS; plain HTTP on it is sent to https)",
        "Web コンソール(HTTPS)のポート(同じポートへの平文の HTTP は https へ転送します)",
    ),
    (
        "The web console's certificate (PEM, the server's first, then its chain) [default: a self-signed one \
         made on first start, DATA_DIR/console-cert.pem]",
        "Web コンソールの証明書(PEM。サーバーの証明書、続いてその証明書チェーン)[既定: 初回起動時に作る\
         自己署名証明書 DATA_DIR/console-cert.pem]",
    ),
    ("The private key of --tls-cert (PEM)", "--tls-cert の秘密鍵(PEM)"),
    (
        "`libvirt` (real QEMU guests through libvirt's embedded driver in DATA_DIR/node/libvirt: no \
         daemon), `libvirt:URI` (e.g. `libvirt:qemu:///system`) or `sim` (simulated guests, for tests and \
         trying the API without QEMU)",
        "`libvirt`(DATA_DIR/node/libvirt に置く libvirt の組み込みドライバーによる本物の QEMU ゲスト。\
         デーモン不要)、`libvirt:URI`(例: `libvirt:qemu:///system`)、または `sim`(シミュレートした\
         ゲスト。テスト用、また QEMU なしで API を試すため)",
    ),
    (
        "libvirt: `qemu` runs guests under QEMU emulation (TCG), which works on any machine; `kvm` uses \
         hardware virtualization (/dev/kvm), much faster where it works. libvirt offers KVM on some hosts \
         where it fails (nested VMs), so emulation is the default",
        "libvirt: `qemu` はゲストを QEMU のエミュレーション(TCG)で動かし、どのマシンでも動きます。\
         `kvm` はハードウェア仮想化(/dev/kvm)を使い、動く環境ではずっと高速です。libvirt は KVM が\
         実際には動かないホスト(入れ子の VM)でも KVM を提示することがあるため、既定はエミュレーションです",
    ),
    (
        "libvirt: how many GiB of images fetched from Walrus the node keeps (`DATA_DIR/node/images`); past it, \
         the least recently used images no guest holds are removed. 0: no limit",
        "libvirt: Walrus から取得したイメージをノードに何 GiB まで保持するか(`DATA_DIR/node/images`)。\
         超えると、どのゲストも使っていないイメージを最後に使われた順に古いものから削除します。0: 上限なし",
    ),
    (
        "libvirt: where the built-in image's files are (scripts/build-guest-image writes them) [default: \
         /var/cache/yukari/images for root, else ~/.cache/yukari/images]",
        "libvirt: 組み込みイメージのファイルの場所(scripts/build-guest-image が書き出します)[既定: \
         root なら /var/cache/yukari/images、それ以外は ~/.cache/yukari/images]",
    ),
    (
        "libvirt: the guests' network: `user` (QEMU user-mode networking; no daemon or bridge needed), \
         `bridge` or `bridge:NAME` (a bridge Yukari makes with the private network's first address: \
         guests get their private addresses, NAT, public addresses, the metadata service at \
         169.254.169.254 and security groups enforced with nftables; needs root), `network:NAME` (a \
         libvirt network, e.g. `network:default` with qemu:///system) or `none`",
        "libvirt: ゲストのネットワーク: `user`(QEMU のユーザーモードネットワーク。デーモンもブリッジも\
         不要)、`bridge` または `bridge:NAME`(Yukari がプライベートネットワークの先頭アドレスで作る\
         ブリッジ。ゲストはプライベートアドレス、NAT、パブリックアドレス、169.254.169.254 のメタデータ\
         サービスを得て、セキュリティグループが nftables で適用されます。root 権限が必要)、\
         `network:NAME`(libvirt のネットワーク。例: qemu:///system での `network:default`)、\
         または `none`",
    ),
    (
        "Bridge mode: the port of the metadata service on the bridge's address (guests' requests to \
         169.254.169.254:80 are sent there)",
        "ブリッジモード: ブリッジのアドレス上のメタデータサービスのポート(ゲストから \
         169.254.169.254:80 への要求はここへ送られます)",
    ),
    (
        "Address to listen on; 0.0.0.0 to serve other machines",
        "待ち受けるアドレス。他のマシンにも提供するなら 0.0.0.0",
    ),
    (
        "Host name clients use to reach this cloud, written into eucarc (default: the --bind address, or \
         127.0.0.1 for 0.0.0.0)",
        "クライアントがこのクラウドに接続するときのホスト名。eucarc に書き込まれます(既定: --bind の\
         アドレス。0.0.0.0 なら 127.0.0.1)",
    ),
    (
        "Simulated hypervisor: milliseconds from start until a guest is up",
        "シミュレートしたハイパーバイザー: 起動からゲストが立ち上がるまでのミリ秒",
    ),
    (
        "StopInstances without `--force`: seconds a guest has to shut down (on its ACPI power button) \
         before it is powered off hard",
        "`--force` なしの StopInstances: ゲストが(ACPI 電源ボタンで)シャットダウンするまで待つ秒数。\
         過ぎると強制的に電源を切ります",
    ),
    ("CPUs of the node registered on first start", "初回起動時に登録するノードの CPU 数"),
    ("Memory (MiB) of the node registered on first start", "初回起動時に登録するノードのメモリ(MiB)"),
    ("Disk (GiB) of the node registered on first start", "初回起動時に登録するノードのディスク(GiB)"),
    (
        "Private addresses of instances, set on first start (CIDR)",
        "インスタンスのプライベートアドレス。初回起動時に設定します(CIDR)",
    ),
    (
        "Public addresses for instances and elastic IPs, set on first start: addresses, ranges (`a-b`) and \
         CIDR blocks, comma-separated. The default is a documentation range: give your own real ones",
        "インスタンスと Elastic IP に使うパブリックアドレス。初回起動時に設定します: アドレス、範囲\
         (`a-b`)、CIDR ブロックをカンマ区切りで。既定値はドキュメント用の範囲なので、実際のアドレスを\
         指定してください",
    ),
    (
        "Write a time-travel snapshot of the read models into DATA_DIR/snapshots every this many events \
         (0: none). They make `yukari replay state --at` and the admin's AsOf answers fast",
        "この数のイベントごとに、読み取りモデルのタイムトラベル用スナップショットを DATA_DIR/snapshots \
         に書きます(0: 書かない)。`yukari replay state --at` と管理者の AsOf への応答が速くなります",
    ),
    (
        "Time-travel snapshots kept at most; beyond, those closest to their neighbours are deleted",
        "保持するタイムトラベル用スナップショットの上限。超えると、隣との間隔がもっとも狭いものから削除します",
    ),
    // yukari account
    (
        "Manage accounts of a running cloud (through its Euare API, with the admin credentials of the data \
         directory)",
        "動いているクラウドのアカウントを管理します(データディレクトリにある管理者の認証情報で、Euare \
         API を通して)",
    ),
    (
        "Create an account with its admin user and an access key",
        "アカウントを、その管理者ユーザーとアクセスキーとともに作成します",
    ),
    ("Lowercase letters, digits and dashes", "英小文字、数字、ハイフン"),
    ("List the cloud's accounts", "クラウドのアカウントを一覧表示します"),
    (
        "The cloud's data directory (its eucarc has the admin's key)",
        "クラウドのデータディレクトリ(その eucarc に管理者の鍵があります)",
    ),
    // yukari replay
    (
        "Learn from the event log: audit, usage and invoices, the cloud at any past moment, diff, verify, \
         rebuild, tail",
        "イベントログから知る: 監査、使用量と請求、過去の任意の時点のクラウド、差分、検証、再構築、tail",
    ),
    (
        "The data directory: its log is read offline (the controller must be stopped); with --controller, \
         its eucarc gives the admin's key",
        "データディレクトリ: そのログをオフラインで読みます(コントローラーは停止している必要があります)。\
         --controller を付けると、その eucarc から管理者の鍵を使います",
    ),
    (
        "Read the log of a running controller through its admin API (http://HOST:8773) instead of opening \
         the file",
        "ファイルを開く代わりに、動いているコントローラーのログを管理 API(http://HOST:8773)経由で読みます",
    ),
    (
        "Every call that changed something, one line per request: time, account, user, access key, source \
         address, action, outcome, request id and the resources it touched",
        "何かを変更したすべての呼び出しを、リクエストごとに 1 行で: 時刻、アカウント、ユーザー、アクセス\
         キー、送信元アドレス、アクション、結果、リクエスト ID、触れたリソース",
    ),
    ("Account id or name", "アカウント ID または名前"),
    (
        "A resource id (i-…, r-…, emi-…, an account id, …) or a stream id; answered through the stream \
         index, without reading the whole log",
        "リソース ID(i-…、r-…、emi-…、アカウント ID など)またはストリーム ID。ログ全体を読まずに\
         ストリーム索引から答えます",
    ),
    (
        "An action (RunInstances, TerminateInstances, ReportInstanceRunning, …)",
        "アクション(RunInstances、TerminateInstances、ReportInstanceRunning など)",
    ),
    ("From this time (RFC 3339, Unix seconds, now, -2h …)", "この時刻から(RFC 3339、Unix 秒、now、-2h など)"),
    ("Before this time", "この時刻より前"),
    ("table, json (one object per line) or csv", "table、json(1 行に 1 オブジェクト)または csv"),
    (
        "What each account used over a period: instance-seconds by instance type, from the real transitions \
         in the log (running to anything else); with --price-sheet, invoices in integer milli-units",
        "期間中に各アカウントが使ったもの: ログにある実際の状態遷移(running から他の状態まで)から求めた、\
         インスタンスタイプごとのインスタンス秒。--price-sheet を付けると、整数のミリ単位で請求書を作ります",
    ),
    (
        "What each account used over a period: instance-seconds by instance type, from the real transitions \
         in the log (running to anything else); with --price-sheet, invoices in integer milli-units.\n\nA \
         price sheet is JSON: milli-units of the currency per unit-hour, by resource kind and unit, `*` for \
         any other unit of a kind: {\"currency\": \"JPY\", \"per_hour\": {\"instance\": {\"m1.small\": \
         12000, \"*\": 20000}}}",
        "期間中に各アカウントが使ったもの: ログにある実際の状態遷移(running から他の状態まで)から求めた、\
         インスタンスタイプごとのインスタンス秒。--price-sheet を付けると、整数のミリ単位で請求書を作ります。\
         \n\n価格表は JSON です: リソースの種類と単位ごとの 1 時間あたりの通貨のミリ単位。`*` はその種類の\
         ほかの単位すべて: {\"currency\": \"JPY\", \"per_hour\": {\"instance\": {\"m1.small\": 12000, \"*\": \
         20000}}}",
    ),
    ("Start of the period (default: the start of the log)", "期間の始まり(既定: ログの始まり)"),
    ("End of the period (default, and at the latest: now)", "期間の終わり(既定かつ最も遅くて: 現在)"),
    ("Only this account (id or name)", "このアカウントだけ(ID または名前)"),
    ("Turn usage into invoices (see above)", "使用量を請求書にします(上記参照)"),
    (
        "Draw what each account held over the period to FILE.svg or FILE.png",
        "期間中に各アカウントが保持していたものを FILE.svg または FILE.png に描きます",
    ),
    (
        "The whole cloud as it was at a time or position: accounts, zones, nodes and what was placed on \
         them, instances and their states, images (and every other read model)",
        "ある時刻または位置でのクラウド全体: アカウント、ゾーン、ノードとそこに配置されていたもの、\
         インスタンスとその状態、イメージ(ほかのすべての読み取りモデルも)",
    ),
    ("A time (RFC 3339, Unix seconds, now, -2h …)", "時刻(RFC 3339、Unix 秒、now、-2h など)"),
    ("A log position", "ログの位置"),
    ("tree or json", "tree または json"),
    (
        "Fold from the start of the log, not from the nearest snapshot",
        "最も近いスナップショットからではなく、ログの始まりから畳み込みます",
    ),
    (
        "What changed between two moments, resource by resource",
        "2 つの時点の間に変わったものを、リソースごとに",
    ),
    ("The earlier time (or use --from-position)", "早いほうの時刻(または --from-position)"),
    ("The later time (or use --to-position)", "遅いほうの時刻(または --to-position)"),
    ("text or json", "text または json"),
    (
        "Check every record's checksum and position, stream versions, that every event decodes, and that \
         read models rebuilt from the log equal the live ones and the time-travel snapshots; exits with \
         status 1 and a report naming each bad record otherwise",
        "すべてのレコードのチェックサムと位置、ストリームのバージョン、すべてのイベントがデコードできること、\
         ログから再構築した読み取りモデルが稼働中のものやタイムトラベル用スナップショットと一致することを\
         検査します。そうでなければ、不正なレコードを一つずつ挙げた報告とともに終了ステータス 1 で終わります",
    ),
    (
        "Drop and rebuild what is derived from the log: the read-model snapshot (offline) and the \
         time-travel snapshots in DIR/snapshots",
        "ログから導かれるものを捨てて作り直します: 読み取りモデルのスナップショット(オフライン)と \
         DIR/snapshots のタイムトラベル用スナップショット",
    ),
    ("A time-travel snapshot every N events", "N イベントごとにタイムトラベル用スナップショットを作ります"),
    (
        "Copy every readable record of a damaged log (offline) into a new log, renumbered without gaps, and \
         say what was lost; the damaged log is only read. Works when redb cannot open the file, from its \
         bytes. The new log is verified; put it in place of DIR/events.redb to use it (see the report)",
        "損傷したログ(オフライン)の読めるレコードをすべて、欠番なしに番号を振り直して新しいログに写し、\
         失われたものを報告します。損傷したログは読むだけです。redb がファイルを開けないときも、その\
         バイト列から救出します。新しいログは検証されます。使うには DIR/events.redb と置き換えてください\
         (報告を参照)",
    ),
    (
        "Where to write the new log: a file that does not exist yet, or a directory (made if the path ends \
         with /) to write events.redb into",
        "新しいログの書き出し先: まだ存在しないファイル、または events.redb を書き込むディレクトリ\
         (パスが / で終わるなら作成します)",
    ),
    (
        "Print the log as readable lines; with --follow (online), keep printing new records as they are \
         stored",
        "ログを読みやすい行で表示します。--follow(オンライン)を付けると、新しいレコードが保存されるたびに\
         表示し続けます",
    ),
    (
        "Start at this position (default: the last --last records)",
        "この位置から始めます(既定: 最後の --last 件)",
    ),
    (
        "Only streams starting with this (instance/, instance/i-…, cluster/)",
        "これで始まるストリームだけ(instance/、instance/i-…、cluster/)",
    ),
    ("Only this account id", "このアカウント ID だけ"),
    ("Only this user name", "このユーザー名だけ"),
    ("The earlier log position", "早いほうのログ位置"),
    ("The later log position", "遅いほうのログ位置"),
    ("How many of the last records to start with", "最初に表示する最後のレコードの件数"),
    (
        "Keep printing new records as they are stored (online only)",
        "新しいレコードが保存されるたびに表示し続けます(オンラインのみ)",
    ),
    ("Only records of this action (RunInstances, …)", "このアクションのレコードだけ(RunInstances など)"),
    ("Only this event type (InstanceRunning, …)", "このイベントタイプだけ(InstanceRunning など)"),
    // yukari up (nodes on other hosts)
    (
        "Seconds without a heartbeat after which a node on another host is marked unreachable (its \
         instances impaired, nothing new placed on it)",
        "この秒数ハートビートがない他ホストのノードを到達不能とします(そのインスタンスは impaired \
         になり、新しいインスタンスは配置されません)",
    ),
    // yukari up (connections)
    (
        "Connections each listener keeps open at most; at the cap a new connection closes the one idle the \
         longest [default: a quarter of the open-file limit, at most 10000]",
        "各リスナーが同時に開いておく接続の上限。上限に達すると、新しい接続のために最も長くアイドル状態の\
         接続を閉じます[既定: 開けるファイル数の上限の 4 分の 1、最大 10000]",
    ),
    (
        "Seconds a client has to send a whole request head (also the longest a connection stays idle between \
         requests, and the longest pause in a request body)",
        "クライアントがリクエストヘッダー全体を送り終えるまでの秒数(リクエスト間で接続がアイドルでいられる\
         最長時間、およびリクエスト本文の送信が途切れてよい最長時間でもあります)",
    ),
    (
        "Start read-only, even on a damaged event log: reads are served (the cloud as far as the log can \
         be read) and every change is refused (503), until the log is salvaged (yukari replay salvage) and \
         the controller started without this flag. The node is not driven meanwhile",
        "イベントログが損傷していても、読み取り専用で起動します: 読み取りには応じ(ログを読めるところまでの\
         クラウド)、ログを救出し(yukari replay salvage)このフラグなしで起動し直すまで、変更はすべて拒否\
         します(503)。その間ノードは動かしません",
    ),
    // yukari cluster
    (
        "Manage the clusters (availability zones) of a running cloud",
        "動いているクラウドのクラスター(アベイラビリティーゾーン)を管理します",
    ),
    (
        "Add a cluster (an availability zone) to the cloud",
        "クラウドにクラスター(アベイラビリティーゾーン)を追加します",
    ),
    ("Letters, digits, dashes and underscores (at most 64)", "英数字、ダッシュ、アンダースコア(64 文字まで)"),
    ("How the cluster places instances on its nodes", "クラスターがインスタンスをノードに配置する方法"),
    ("List the clusters with their policy and nodes", "クラスターをポリシーとノードとともに一覧表示します"),
    ("Change how a cluster places new instances", "クラスターが新しいインスタンスを配置する方法を変えます"),
    ("The cluster (availability zone)", "クラスター(アベイラビリティーゾーン)"),
    ("greedy, roundrobin or powersave", "greedy、roundrobin、powersave のいずれか"),
    // yukari address
    (
        "Limits on the elastic IPs of a running cloud's accounts",
        "稼働中のクラウドの各アカウントが持てる Elastic IP の上限",
    ),
    (
        "Set how many elastic IPs each account may hold at once (EC2's default: 5)",
        "各アカウントが同時に持てる Elastic IP の数を設定します(EC2 の既定値は 5)",
    ),
    (
        "Elastic IPs per account; 0 lets no account but the admin's allocate one",
        "アカウントごとの Elastic IP の数。0 なら admin アカウント以外は割り当てられません",
    ),
    // yukari node
    (
        "Run a node executor on this host for a controller on another (`yukari node --controller URL \
         --cluster NAME`), or list the nodes",
        "他ホストのコントローラーのためにこのホストでノードエグゼキューターを動かすか(`yukari node \
         --controller URL --cluster NAME`)、ノードを一覧表示します",
    ),
    (
        "The controller's EC2 endpoint, e.g. http://10.0.0.1:8773/",
        "コントローラーの EC2 エンドポイント(例: http://10.0.0.1:8773/)",
    ),
    (
        "The cluster (availability zone) to join on first start",
        "初回起動時に参加するクラスター(アベイラビリティーゾーン)",
    ),
    ("Where the node keeps its credentials and guests", "ノードが認証情報とゲストを置くディレクトリ"),
    (
        "First start only: the admin's eucarc, proving the node may join",
        "初回起動時のみ: ノードの参加を認める管理者の eucarc",
    ),
    (
        "`libvirt` (real QEMU guests through libvirt's embedded driver in DATA_DIR/node/libvirt), \
         `libvirt:URI` or `sim` (simulated guests)",
        "`libvirt`(DATA_DIR/node/libvirt に置く libvirt の組み込みドライバーによる本物の QEMU \
         ゲスト)、`libvirt:URI`、または `sim`(シミュレートしたゲスト)",
    ),
    (
        "This host's address as the controller lists it [default: the host name]",
        "コントローラーが一覧に示すこのホストのアドレス [既定: ホスト名]",
    ),
    ("CPUs the node offers (registered on first start)", "ノードが提供する CPU 数(初回起動時に登録)"),
    (
        "Memory (MiB) the node offers (registered on first start)",
        "ノードが提供するメモリ(MiB、初回起動時に登録)",
    ),
    (
        "Disk (GiB) the node offers (registered on first start)",
        "ノードが提供するディスク(GiB、初回起動時に登録)",
    ),
    ("Seconds between heartbeats", "ハートビートの間隔(秒)"),
    (
        "List the cloud's nodes: cluster, host, state, last heartbeat, capacity",
        "クラウドのノードを一覧表示します: クラスター、ホスト、状態、最後のハートビート、容量",
    ),
    // EBS: yukari up and yukari storage
    (
        "EBS volumes: `tgt` (sparse files in DATA_DIR/storage exported over iSCSI by a tgtd Yukari starts and \
         owns), `sim` (simulated, for tests; forgets its volumes when it stops), `none` (no block storage here), \
         or `auto`: `sim` with `--hypervisor sim`, else `tgt`",
        "EBS ボリューム: `tgt`(DATA_DIR/storage のスパースファイルを、Yukari が起動して管理する tgtd が iSCSI \
         で公開)、`sim`(テスト用の模擬。停止するとボリュームを忘れます)、`none`(ここではブロックストレージなし)、\
         `auto`(`--hypervisor sim` なら `sim`、それ以外は `tgt`)",
    ),
    (
        "GiB of volumes the zone's storage controller offers (set at every start)",
        "ゾーンのストレージコントローラーが提供するボリュームの容量 GiB(起動のたびに設定)",
    ),
    (
        "The iSCSI portal's port, where nodes' QEMU attaches volumes",
        "iSCSI ポータルのポート(ノードの QEMU がここでボリュームを接続します)",
    ),
    (
        "The control channel of Yukari's own tgtd (/run/tgtd/socket.N, 0 to 32767), apart from any system tgtd \
         [default: --iscsi-port]",
        "Yukari 自身の tgtd の制御チャネル(/run/tgtd/socket.N、0〜32767。システムの tgtd とは別)\
         [既定: --iscsi-port]",
    ),
    (
        "Run a cluster's storage controller on this host for a controller on another (`yukari storage \
         --controller URL --cluster NAME --credentials EUCARC`)",
        "別のホストのコントローラーのために、このホストでクラスターのストレージコントローラーを動かします\
         (`yukari storage --controller URL --cluster NAME --credentials EUCARC`)",
    ),
    (
        "The cluster (availability zone) whose volumes this storage controller keeps",
        "このストレージコントローラーがボリュームを預かるクラスター(アベイラビリティゾーン)",
    ),
    (
        "First start only: the cloud admin's eucarc, proving the storage controller may join (it then gets a \
         key of its own, kept in DATA_DIR)",
        "初回起動時のみ: ストレージコントローラーが参加してよいことを示すクラウド管理者の eucarc\
         (その後は専用の鍵を受け取り DATA_DIR に保存します)",
    ),
    (
        "Where the storage controller keeps its volumes, snapshots and tgtd's log",
        "ストレージコントローラーがボリューム、スナップショット、tgtd のログを置くディレクトリ",
    ),
    (
        "Address the iSCSI portal listens on; 0.0.0.0 to serve other machines",
        "iSCSI ポータルが待ち受けるアドレス。他のマシンに提供するには 0.0.0.0",
    ),
    (
        "Host name or address nodes reach the iSCSI portal at [default: the --bind address]",
        "ノードが iSCSI ポータルに届くホスト名またはアドレス [既定: --bind のアドレス]",
    ),
    (
        "iSCSI targets ask each attachment for a CHAP secret as well as its initiator name. Its nodes must reach \
         libvirt through a daemon (`--hypervisor libvirt:qemu:///system`): the embedded driver cannot read \
         libvirt secrets",
        "iSCSI ターゲットが各アタッチメントにイニシエーター名に加えて CHAP シークレットを求めます。ノードは \
         デーモン経由で libvirt に接続する必要があります(`--hypervisor libvirt:qemu:///system`)。組み込み\
         ドライバーは libvirt のシークレットを読めません",
    ),
    // yukari image
    (
        "Machine images: bundle, upload to Walrus, register (euca2ools' bundle format)",
        "マシンイメージ: バンドル、Walrus へのアップロード、登録(euca2ools のバンドル形式)",
    ),
    (
        "Bundle a disk image, kernel or ramdisk: encrypted for the cloud, signed with your key",
        "ディスクイメージ、カーネル、RAM ディスクをバンドルします: クラウド向けに暗号化し、あなたの鍵で署名します",
    ),
    (
        "Upload a bundle into a bucket (made if missing), readable by the cloud",
        "バンドルをバケットにアップロードします(なければ作成)。クラウドが読めるようにします",
    ),
    (
        "Register an uploaded bundle (BUCKET/PREFIX.manifest.xml) as an image",
        "アップロード済みのバンドル(BUCKET/PREFIX.manifest.xml)をイメージとして登録します",
    ),
    (
        "Bundle, upload and register a disk image in one go",
        "ディスクイメージのバンドル、アップロード、登録を一度に行います",
    ),
    (
        "An eucarc to take credentials from (default: the environment, as `. eucarc` sets it)",
        "認証情報を読む eucarc(既定: `. eucarc` で設定された環境変数)",
    ),
    (
        "Name of the bundle's files (default: the image's file name)",
        "バンドルのファイル名(既定: イメージのファイル名)",
    ),
    ("Architecture: x86_64 or i386", "アーキテクチャ: x86_64 または i386"),
    (
        "Kernel image (eki-…) to boot a machine image with",
        "マシンイメージの起動に使うカーネルイメージ(eki-…)",
    ),
    (
        "Ramdisk image (eri-…) to boot a machine image with",
        "マシンイメージの起動に使う RAM ディスクイメージ(eri-…)",
    ),
    ("What the image is: machine, kernel or ramdisk", "イメージの種類: machine、kernel、ramdisk"),
    ("The image file", "イメージファイル"),
    ("Directory to write the parts and manifest to", "パーツとマニフェストを書き出すディレクトリ"),
    ("The bucket to upload into", "アップロード先のバケット"),
    (
        "The bundle's manifest (PREFIX.manifest.xml); its parts are beside it",
        "バンドルのマニフェスト(PREFIX.manifest.xml)。パーツは同じディレクトリにあります",
    ),
    ("The image's name", "イメージの名前"),
    ("The image's description", "イメージの説明"),
    ("Where the manifest is: BUCKET/PREFIX.manifest.xml", "マニフェストの場所: BUCKET/PREFIX.manifest.xml"),
];
