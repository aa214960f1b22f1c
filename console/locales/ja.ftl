# Yukari ウェブコンソール: 日本語。en.ftl のキーはすべてここにも必要です (テストが確かめます)。

app-name = ユーカリ
lang-en = English
lang-ja = 日本語
signout = サインアウト
problem-back = コンソールに戻る

## ナビゲーション
nav-dashboard = ダッシュボード
nav-instances = インスタンス
nav-images = イメージ
nav-keypairs = キーペア
nav-groups = セキュリティグループ
nav-addresses = Elastic IP

## サインイン
signin-title = サインイン
signin-account = アカウント (名前または ID)
signin-user = ユーザー名
signin-password = パスワード
signin-submit = サインイン
signin-help = クラウド管理者の最初のパスワードは、クラウドのデータディレクトリにあるファイル console-password に書かれています。
signin-failed = サインインできませんでした。アカウント、ユーザー名、パスワードを確かめてください。
signin-throttled = サインインの失敗が多すぎます。数分待ってからもう一度お試しください。
csrf-title = このフォームは期限切れです
csrf-text = フォームがセキュリティトークンなしで、または別のページから送られました。戻ってページを再読み込みし、もう一度送ってください。
not-found-title = 見つかりません
not-found-text = あなたのアカウントにそのリソースはありません。

## ダッシュボード
dashboard-title = ダッシュボード
dashboard-account = アカウント { $account } ({ $id })
dashboard-resources = リソース
dashboard-states = 状態別のインスタンス

## 一覧と列
col-id = ID
col-name = 名前
col-state = 状態
col-type = タイプ
col-zone = ゾーン
col-private-ip = プライベート IP
col-public-ip = パブリック IP
col-launched = 起動日時
col-changed = 状態の変更日時
col-image = イメージ
col-key = キーペア
col-groups = セキュリティグループ
col-tags = タグ
col-description = 説明
col-kind = 種類
col-architecture = アーキテクチャ
col-visibility = 公開範囲
col-registered = 登録日時
col-fingerprint = フィンガープリント
col-key-type = 鍵の種類
col-created = 作成日時
col-ingress = インバウンドルール
col-egress = アウトバウンドルール
col-members = インスタンス数
col-direction = 方向
col-protocol = プロトコル
col-ports = ポート
col-source = 送信元・送信先
col-address = アドレス
col-allocation = 割り当て
col-instance = インスタンス
col-allocated = 割り当て日時
filter-state = 状態
filter-any = すべて
filter-search = ID または名前に含む文字
filter-apply = 絞り込む
page-first = « 最初のページ
page-next = 次のページ »

## インスタンスの状態
state-pending = 保留中
state-running = 実行中
state-shutting-down = シャットダウン中
state-terminated = 終了済み
state-stopping = 停止中
state-stopped = 停止済み
reason-Client-UserInitiatedShutdown = ユーザーが停止または終了しました
reason-Client-InstanceInitiatedShutdown = インスタンスの中からシャットダウンされました
reason-Server-InternalError = クラウドがインスタンスを実行できませんでした

## インスタンス
instances-title = インスタンス
instances-none = インスタンスはありません。
instance-title = インスタンス { $id }
launch-button = インスタンスを起動
launch-title = インスタンスの起動
launch-name = 名前 (タグ)
launch-count = インスタンス数
launch-no-key = キーペアなし
launch-user-data = ユーザーデータ
launch-submit = 起動
launch-type-label = { $name } (CPU { $cpus }、{ $memory } MiB、{ $disk } GiB)
instance-launched = { $ids } を起動しました。
instance-stopping = { $id } を停止しています。
instance-starting = { $id } を開始しています。
instance-rebooting = { $id } を再起動しています。
instance-terminating = { $id } を終了しています。
action-stop = 停止
action-start = 開始
action-reboot = 再起動
action-terminate = 終了
action-delete = 削除
action-remove = 削除
console-link = コンソール出力
console-title = { $id } のコンソール出力
console-empty = インスタンスはまだ何も出力していません。
back-to-instance = インスタンスに戻る

## イメージ
images-title = イメージ
images-none = イメージはありません。
image-kind-machine = マシン
image-kind-kernel = カーネル
image-kind-ramdisk = RAM ディスク
image-own = 自分のもの
image-public = 公開

## キーペア
keypairs-title = キーペア
keypairs-none = キーペアはありません。
keypair-create = 作成してダウンロード
keypair-once = 新しいキーペアの秘密鍵は NAME.pem として一度だけダウンロードされ、ほかのどこにも保存されません。安全に保管してください。
keypair-import = インポート
keypair-public-key = 公開鍵 (OpenSSH 形式)
keypair-imported = キーペア { $name } をインポートしました。
keypair-deleted = キーペア { $name } を削除しました。
key-type-rsa = RSA 2048
key-type-ed25519 = Ed25519

## セキュリティグループ
groups-title = セキュリティグループ
group-title = セキュリティグループ { $name }
group-create = グループを作成
group-created = セキュリティグループ { $name } を作成しました。
group-delete = このグループを削除
group-deleted = セキュリティグループ { $id } を削除しました。
rules-none = ルールはありません。
rule-ingress = インバウンド
rule-egress = アウトバウンド
rule-protocol-all = すべて
rule-protocol-tcp = TCP
rule-protocol-udp = UDP
rule-protocol-icmp = ICMP
rule-ports-all = すべて
rule-from = 開始ポート (ICMP タイプ)
rule-to = 終了ポート (ICMP コード)
rule-add-title = ルールの追加
rule-add = ルールを追加
rule-added = ルールを追加しました。
rule-removed = ルールを削除しました。
rule-source-help = 送信元 (アウトバウンドでは送信先) は 0.0.0.0/0 のような CIDR ブロック、またはセキュリティグループ ID (sg-…) です。

## Elastic IP
addresses-title = Elastic IP
addresses-none = Elastic IP はありません。
address-allocate = アドレスを割り当てる
address-associate = 関連付け
address-disassociate = 関連付けを解除
address-release = 解放
address-allocated = アドレス { $address } を割り当てました。
address-associated = アドレス { $address } を関連付けました。
address-disassociated = アドレス { $address } の関連付けを解除しました。
address-released = アドレス { $address } を解放しました。

## クラウドのエラー (EC2 のエラーコード、. は - に)
ec2-other = クラウドが拒否しました: { $code }: { $message }
ec2-MissingParameter = 必須の項目が空です。
ec2-InvalidParameterValue = 正しくない値があります。
ec2-InvalidParameterCombination = これらの項目は同時に使えません。
ec2-UnauthorizedOperation = この操作は許可されていません。リソースを変更できるのはアカウントの admin ユーザーだけです。
ec2-IncorrectInstanceState = インスタンスが、この操作のできる状態にありません。
ec2-InvalidInstanceID-NotFound = そのインスタンスはありません。
ec2-InvalidInstanceID-Malformed = インスタンス ID ではありません。
ec2-InvalidAMIID-NotFound = そのイメージはありません。
ec2-InvalidAMIID-Malformed = イメージ ID ではありません。
ec2-InsufficientInstanceCapacity = 今はクラウドにこれらのインスタンスを置く余裕がありません。
ec2-InsufficientFreeAddressesInSubnet = これらのインスタンスに割り当てるプライベートアドレスが足りません。
ec2-OperationNotPermitted = このインスタンスは終了から保護されています。
ec2-IdempotentParameterMismatch = このフォームは別の値ですでに送信されています。
ec2-InvalidKeyPair-Duplicate = その名前のキーペアはすでにあります。
ec2-InvalidKeyPair-NotFound = その名前のキーペアはありません。
ec2-InvalidKey-Format = クラウドが読める形式の公開鍵ではありません (OpenSSH の RSA または Ed25519)。
ec2-InvalidGroup-Duplicate = その名前のセキュリティグループはすでにあります。
ec2-InvalidGroup-NotFound = そのセキュリティグループはありません。
ec2-InvalidGroupId-Malformed = セキュリティグループ ID ではありません。
ec2-InvalidPermission-Duplicate = このルールはすでにあります。
ec2-InvalidPermission-NotFound = このグループにそのルールはありません。
ec2-InvalidPermission-Malformed = ルールが正しくありません。プロトコル、ポート、送信元を確かめてください。
ec2-DependencyViolation = このグループはまだ、インスタンスか別のグループのルールに使われています。
ec2-CannotDelete = default グループは削除できません。
ec2-AddressLimitExceeded = 割り当てられるパブリックアドレスが残っていません。
ec2-Resource-AlreadyAssociated = このアドレスはすでにインスタンスに関連付けられています。
ec2-InvalidAllocationID-NotFound = そのアドレスはありません。
ec2-InvalidAssociationID-NotFound = その関連付けはありません。
ec2-TagLimitExceeded = 1 つのリソースに付けられるタグは 50 個までです。
ec2-ServiceUnavailable = クラウドは今、変更を保存できません。ページには現在の状態が表示されます。しばらくしてからお試しください。
ec2-Unavailable = クラウドは今、利用できません。
ec2-InternalError = クラウドがこの操作に失敗しました。詳しくはクラウドのログにあります。

## 自分のパスワード
password-title = パスワードの変更
password-current = 現在のパスワード
password-new = 新しいパスワード
password-confirm = 新しいパスワード (確認)
password-submit = パスワードを変更
password-help = パスワードは 8 文字以上 128 文字以下です。クラウド管理者が設定またはリセットしたあとは、ここで自分のパスワードを決めてください。
password-mismatch = 2 つの新しいパスワードが一致しません。
password-wrong = 現在のパスワードが違います。
password-policy = 新しいパスワードは、制御文字を含まない 8 文字以上 128 文字以下にしてください。
password-changed = パスワードを変更しました。
error-unavailable = クラウドは今、変更を保存できません。しばらくしてからお試しください。
