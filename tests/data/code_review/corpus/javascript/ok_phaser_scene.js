export class MainScene extends Phaser.Scene {
  constructor() {
    super("main");
  }

  preload() {
    this.load.image("player", "assets/player.png");
    this.load.audio("jump", "assets/jump.wav");
  }

  create() {
    this.player = this.physics.add.sprite(100, 300, "player");
    this.cursors = this.input.keyboard.createCursorKeys();
    this.jump = this.sound.add("jump");
  }

  update() {
    const onFloor = this.player.body.blocked.down;
    this.player.setVelocityX(this.cursors.left.isDown ? -160 : this.cursors.right.isDown ? 160 : 0);
    if (this.cursors.up.isDown && onFloor) {
      this.player.setVelocityY(-330);
      this.jump.play();
    }
  }
}
